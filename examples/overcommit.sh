#!/bin/sh
# Overcommit: a guest with four times more RAM than the host budget. The
# VMM keeps the hot pages in the budget and the cold ones in its own swap
# file, and the guest verifies every page it wrote. (The full-size run is
#   vmm run --mem 1G --host-mem 256M --swap guest.swap --swap-size 2G \
#           --cmdline "workload=phases size=900M passes=3"
# this one is smaller so that make check stays quick.)
set -e
VMM=${VMM:-vmm}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$VMM" run --mem 128M --host-mem 32M --swap "$dir/guest.swap" --swap-size 256M \
	--stats-interval 1 --wss-period 500 --stats-json "$dir/stats.json" \
	--cmdline "workload=phases size=96M passes=3" 2>"$dir/stderr"
grep '^vmm-stats' "$dir/stderr" >"$dir/lines" || true
python3 - "$dir/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["vmm"]["second_level"]
r, f = s["reclaim"], s["frames"]
print(f"budget:      {f['budget']} frames; at most {f['peak_resident']} were resident at once")
print(f"major:       {r['faults']['major']} faults read a page back from swap")
print(f"minor:       {r['faults']['minor']} faults mapped a page the scan had unmapped to see if it was used")
print(f"swap-outs:   {r['swap_outs']} pages written to swap; {r['clean_drops']} dropped clean "
      f"(their swap copy was still valid: no I/O); {r['zero_drops']} pages of zeros dropped")
print(f"scans:       {r['scan']['pages']} pages examined by the Clock hand in {r['scan']['windows']} windows")
w = r["working_set"]
print(f"working set: {w['pages']} pages (95% interval {w['lo']}-{w['hi']}), "
      f"{w['touched']} of {w['sampled']} sampled pages touched in the last period")
print(f"swap file:   {r['swap']['io']} I/O, O_DIRECT {'on' if r['swap']['direct'] else 'off (buffered fallback)'}")
PY
# resident frames, the working-set estimate and swap-ins over time
if command -v gnuplot >/dev/null && [ -s "$dir/lines" ]; then
	sed -E 's/.*t=([0-9.]+)s.* resident=([0-9]+).* major=([0-9]+).*/\1 \2 \3/' "$dir/lines" >"$dir/res"
	sed -nE 's/.*t=([0-9.]+)s.* wss=([0-9]+)\[.*/\1 \2/p' "$dir/lines" >"$dir/wss"
	gnuplot -e "set terminal dumb 79 24; set xlabel 'seconds'; \
		plot '$dir/res' using 1:2 with lines title 'resident', \
		'$dir/wss' using 1:2 with lines title 'wss estimate', \
		'$dir/res' using 1:3 with lines title 'swap-ins'"
fi
