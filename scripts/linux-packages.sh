# scripts/linux-packages.sh: Debian's kernel package (the one that
# linux-image-amd64 names) and busybox-static, fetched once with
# apt-get download and unpacked with dpkg -x into a cache. Sourced by
# scripts/testvm.sh (the test VM's own kernel) and scripts/mkinitramfs.sh
# (busybox for the Linux guests' initramfs); the Linux-guest tests boot
# the same kernel.
#
#   linux_packages_fetch CACHE   prints CACHE/PKG, the unpacked tree
#                                (boot/vmlinuz-*, lib/modules/*, bin/busybox),
#                                fetching it the first time
#   linux_packages_find CACHE    prints it if it is there; fails otherwise
#
# The caller defines die MESSAGE (prints it and exits).

linux_packages_name() {
	local kpkg
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1)
	if [ -z "$kpkg" ]; then
		apt-get update -qq || die "apt-get update failed"
		kpkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1)
	fi
	[ -n "$kpkg" ] || die "apt-cache names no kernel package for linux-image-amd64"
	echo "$kpkg"
}

linux_packages_fetch() {
	local cache=$1 kpkg dl
	kpkg=$(linux_packages_name) || exit $?
	if [ ! -f "$cache/$kpkg.ready" ]; then
		echo "fetching $kpkg and busybox-static into $cache" >&2
		dl=$(mktemp -d "$cache/dl.XXXXXX")
		(cd "$dl" && apt-get download "$kpkg" busybox-static >/dev/null 2>&1) ||
			{ rm -rf "$dl"; die "apt-get download $kpkg busybox-static failed"; }
		rm -rf "${cache:?}/$kpkg" && mkdir -p "$cache/$kpkg"
		dpkg -x "$dl"/linux-image-*.deb "$cache/$kpkg" && dpkg -x "$dl"/busybox-static*.deb "$cache/$kpkg" ||
			{ rm -rf "$dl"; die "dpkg -x of the downloaded packages failed"; }
		rm -rf "$dl"
		touch "$cache/$kpkg.ready"
	fi
	echo "$cache/$kpkg"
}

linux_packages_find() {
	local ready
	for ready in "$1"/linux-image-*.ready; do
		[ -f "$ready" ] && [ -d "${ready%.ready}/boot" ] && { echo "${ready%.ready}"; return 0; }
	done
	return 1
}
