/* vmm/vm.c: VM set-up and run loop, see vm.h. */
#include "vm.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "boot.h"
#include "bzimage.h"
#include "err.h"
#include "forkid.h"
#include "histo.h"
#include "initrd.h"
#include "kernel.h"
#include "restore.h"
#include "snapshot.h"
#include "stats.h"
#include "vmm_abi.h"

/* Outside guest RAM and below 4 GiB: KVM's real-mode TSS and identity map (Intel). */
#define VM_TSS_GPA	    0xfffbd000ULL
#define VM_IDENTITY_MAP_GPA 0xfffbc000ULL

/* From the fault thread: the VM cannot go on. */
static void vm_on_fatal(void *arg, const char *msg)
{
	vm_stop(arg, VMM_STATUS_CRASH, "%s", msg);
}

static int vm_set_slot(struct vm *vm, int i, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
	    .slot = i,
	    .guest_phys_addr = vm->mem.region[i].gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)vm->mem.region[i].hva,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return err_errno(errno, "guest memory",
				 "KVM_SET_USER_MEMORY_REGION, slot %d at GPA %#llx (%s): %s", i,
				 (unsigned long long)r.guest_phys_addr,
				 size ? "making it" : "deleting it", strerror(errno));
	return 0;
}

static int vm_set_memory(struct vm *vm)
{
	int ret = 0;

	for (int i = 0; !ret && i < vm->mem.nr_regions; i++)
		ret = vm_set_slot(vm, i, vm->mem.region[i].size);
	return ret;
}

static struct vm_shell vm_shell_empty(void)
{
	struct vm_shell s = {.kvm.fd = -1, .fd = -1, .stats_fd = -1};

	s.vcpu.fd = s.vcpu.stats_fd = -1;
	return s;
}

/* vm's KVM VM, its statistics and vCPU exchanged with *s's. The vCPU
 * thread stays vm's: only its KVM objects change hands. */
static void vm_swap_shell(struct vm *vm, struct vm_shell *s)
{
	struct vm_shell mine = {
	    .kvm = vm->kvm, .fd = vm->fd, .stats_fd = vm->stats_fd, .vcpu = vm->vcpu};

	vm->kvm = s->kvm;
	vm->fd = s->fd;
	vm->stats_fd = s->stats_fd;
	vm->vcpu = s->vcpu;
	vm->vcpu.thread = mine.vcpu.thread;
	vm->vcpu.thread_started = mine.vcpu.thread_started;
	mine.vcpu.thread_started = false;
	*s = mine;
}

int vm_move_to_shell(struct vm *vm, struct vm_shell *shell, struct vm_shell *old)
{
	vm_swap_shell(vm, shell);
	*old = *shell;
	*shell = vm_shell_empty();
	guest_ram_refresh_views(&vm->mem);
	return vm_set_memory(vm);
}

int vm_move_memory(struct vm *vm)
{
	int ret = 0;

	guest_ram_refresh_views(&vm->mem);
	/* A slot's address cannot change in place: deleted, then made again. */
	for (int i = 0; !ret && i < vm->mem.nr_regions; i++) {
		ret = vm_set_slot(vm, i, 0);
		if (!ret)
			ret = vm_set_slot(vm, i, vm->mem.region[i].size);
	}
	return ret;
}

/* The VM's CPU: its threads pin themselves there when they start (the
 * fault thread in ept/, the vCPU's in vm_run.c); the thread that builds
 * it stays where it was, so that a fork's children, all built on one
 * thread, need not share its CPU. */
static int vm_pick_cpu(const struct vm_config *cfg)
{
	if (!cfg->pin)
		return -1;
	return cfg->pin_cpu >= 0 ? cfg->pin_cpu : sched_getcpu();
}

/* Guest RAM of cfg->mem_bytes, with source behind it (lazy restore) or
 * NULL; it takes swap (opened, or NULL) whatever happens. */
static int vm_create_ram(struct vm *vm, const struct vm_config *cfg, struct swapfile *swap,
			 const struct vmem_source_ops *source, void *source_arg)
{
	struct guest_ram_params child = {.handler_cpu = vm->cpu,
					 .fault_around = cfg->fault_around,
					 .on_fatal = vm_on_fatal,
					 .arg = vm,
					 .oom_protect = cfg->oom_protect};
	int ret;

	if (cfg->fork_parent) {
		swapfile_close(swap);
		ret = guest_ram_init_fork(&vm->mem, &cfg->fork_parent->mem, &child);
		return ret ? ret : vm_set_memory(vm);
	}
	ret = guest_ram_init(&vm->mem, &(struct guest_ram_params){
					   .size = cfg->mem_bytes,
					   .manager = cfg->manager,
					   .host_mem = cfg->host_mem_bytes,
					   .handler_cpu = vm->cpu,
					   .fault_around = cfg->fault_around,
					   .on_fatal = vm_on_fatal,
					   .arg = vm,
					   .swap = swap,
					   .oom_protect = cfg->oom_protect,
					   .swap_readahead = cfg->swap_readahead,
					   .wss_period_ms = cfg->wss_period_ms,
					   .wss_samples = cfg->wss_samples,
					   .source = source,
					   .source_arg = source_arg,
					   .host = cfg->host,
				       });

	return ret ? ret : vm_set_memory(vm);
}

/* /dev/kvm opened and a KVM VM made in it, its real-mode areas set. */
static int vm_open_kvm(struct kvm *kvm, int *fd)
{
	int ret = kvm_open(kvm, "/dev/kvm");

	if (!ret && (*fd = ioctl(kvm->fd, KVM_CREATE_VM, 0)) < 0)
		ret = err_sys("/dev/kvm", "KVM_CREATE_VM");
	if (ret)
		return ret;
	if (kvm->has_tss_addr && ioctl(*fd, KVM_SET_TSS_ADDR, VM_TSS_GPA) < 0)
		return err_sys("vm", "KVM_SET_TSS_ADDR");
	if (kvm->has_identity_map_addr &&
	    ioctl(*fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){VM_IDENTITY_MAP_GPA}) < 0)
		return err_sys("vm", "KVM_SET_IDENTITY_MAP_ADDR");
	return 0;
}

int vm_shell_make(struct vm_shell *s, bool normalise_cpuid)
{
	int ret;

	*s = (struct vm_shell){.kvm.fd = -1, .fd = -1, .stats_fd = -1};
	s->vcpu.fd = s->vcpu.stats_fd = -1;
	ret = vm_open_kvm(&s->kvm, &s->fd);
	if (!ret && s->kvm.has_binary_stats)
		s->stats_fd = ioctl(s->fd, KVM_GET_STATS_FD, 0);
	if (!ret)
		ret = vcpu_create(&s->vcpu, &s->kvm, s->fd, 0);
	if (!ret)
		ret = vcpu_set_cpuid(&s->vcpu, &s->kvm, normalise_cpuid);
	if (ret)
		vm_shell_destroy(s);
	return ret;
}

void vm_shell_destroy(struct vm_shell *s)
{
	vcpu_destroy(&s->vcpu);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	if (s->fd >= 0)
		close(s->fd);
	kvm_close(&s->kvm);
	s->fd = s->stats_fd = -1;
}

/* A shell made ahead of time becomes vm's KVM VM and vCPU: only guest
 * RAM and its slots are left to make. */
static int vm_adopt_shell(struct vm *vm, const struct vm_config *cfg, struct vm_shell *s)
{
	vm_swap_shell(vm, s); /* *s gets vm's: none yet */
	return vm_create_ram(vm, cfg, NULL, NULL, NULL);
}

/* KVM, guest RAM and the vCPU with its CPUID; swap as for vm_create_ram. */
static int vm_create_kvm(struct vm *vm, const struct vm_config *cfg, struct swapfile *swap,
			 const struct vmem_source_ops *source, void *source_arg)
{
	int ret;

	if (cfg->shell && !vm->machine->irqchip && !swap && !source)
		return vm_adopt_shell(vm, cfg, cfg->shell);
	ret = vm_open_kvm(&vm->kvm, &vm->fd);
	if (!ret)
		ret = machine_create_kvm(vm);
	if (ret) {
		swapfile_close(swap);
		return ret;
	}
	if (vm->kvm.has_binary_stats)
		vm->stats_fd = ioctl(vm->fd, KVM_GET_STATS_FD, 0);
	ret = vm_create_ram(vm, cfg, swap, source, source_arg);
	if (!ret)
		ret = vcpu_create(&vm->vcpu, &vm->kvm, vm->fd, 0);
	return ret ? ret : vcpu_set_cpuid(&vm->vcpu, &vm->kvm, vm->machine->normalise_cpuid);
}

static int vm_register_devices(struct vm *vm);

/* The swap file is input too: checked (and locked) before KVM is opened. */
static int vm_open_swap(const struct vm_config *cfg, struct swapfile **out)
{
	struct swapfile_opts o = {
	    .path = cfg->swap_path, .size = cfg->swap_bytes, .no_uring = cfg->swap_sync};
	char why[300];
	int ret;

	*out = NULL;
	if (!cfg->swap_path)
		return 0;
	ret = swapfile_open(out, &o, why, sizeof(why));
	if (ret == -ENOENT && !cfg->swap_bytes)
		return err_errno(-ret, "--swap", "%s: give --swap-size", why);
	return ret ? err_errno(-ret, "--swap", "%s", why) : 0;
}

int vm_create_machine(struct vm *vm, const struct vm_config *cfg,
		      const struct vmem_source_ops *source, void *source_arg)
{
	struct swapfile *swap;

	if (guest_ram_check_manager(cfg->manager))
		return VMM_STATUS_INTERNAL;
	if (vm_open_swap(cfg, &swap))
		return VMM_STATUS_USAGE;
	if (vm_run_init_signal()) {
		swapfile_close(swap);
		return VMM_STATUS_INTERNAL;
	}
	return vm_create_kvm(vm, cfg, swap, source, source_arg) ? VMM_STATUS_INTERNAL : 0;
}

/* Read the kernel image and the initrd, if any, and check them against
 * the RAM layout of cfg. */
static int vm_read_kernel(const struct vm_config *cfg, struct kernel *kernel, struct initrd *rd)
{
	struct guest_ram layout = {.size = cfg->mem_bytes};
	uint64_t floor, ceiling;

	memset(rd, 0, sizeof(*rd));
	layout.nr_regions = guest_ram_layout(cfg->mem_bytes, layout.region);
	if (kernel_read(cfg->kernel, &layout, kernel))
		return VMM_STATUS_USAGE;
	kernel_initrd_bounds(kernel, &floor, &ceiling);
	if (cfg->initrd && initrd_read(cfg->initrd, &layout, floor, ceiling, rd)) {
		kernel_free(kernel);
		return VMM_STATUS_USAGE;
	}
	return 0;
}

/* The machine the image boots, or the one asked for if the image boots it. */
static int vm_pick_machine(struct vm_config *cfg, const struct kernel *k)
{
	enum machine_id own = kernel_machine(k);

	if (cfg->machine == MACHINE_AUTO)
		cfg->machine = own;
	if (cfg->machine == own)
		return 0;
	return err_input("--machine",
			 "%s: a %s boots the %s machine (docs/linux-guest.md), not the %s one",
			 cfg->kernel, k->format == KERNEL_BZIMAGE ? "bzImage" : "PVH ELF",
			 machine_get(own)->name, machine_get(cfg->machine)->name),
	       VMM_STATUS_USAGE;
}

/* The console's watcher: each line that matches pauses the VM. */
static void vm_pause_at_line(void *arg, const char *line, size_t len)
{
	char buf[VMM_LINE_MAX + 1];
	struct vm *vm = arg;

	memcpy(buf, line, len);
	buf[len] = '\0';
	if (!regexec(&vm->pause_at.re, buf, 0, NULL, 0))
		vm_pause_self(vm);
}

/* --pause-at-line: checked by the command line already. */
static int vm_watch_console(struct vm *vm, const char *regex)
{
	int ret = regcomp(&vm->pause_at.re, regex, REG_EXTENDED | REG_NOSUB);

	if (ret)
		return err_input("--pause-at-line", "'%s': not a valid extended regex", regex);
	vm->pause_at.set = true;
	console_watch(&vm->con, vm_pause_at_line, vm);
	return 0;
}

int vm_create_begin(struct vm *vm, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm.fd = vm->fd = vm->stats_fd = vm->vcpu.fd = vm->vcpu.stats_fd = -1;
	vm->stats.start_ns = histo_now_ns();
	vm->cfg = *cfg;
	vm->cpu = vm_pick_cpu(cfg);
	vm->machine = machine_get(cfg->machine == MACHINE_AUTO ? MACHINE_VMM : cfg->machine);
	vm->cfg.machine = vm->machine->id;
	vm_init_sync(vm);
	/* Paused before its first instruction: its vCPU parks at once. */
	vm->run.pause_req = cfg->start_paused;
	vm->run.paused_at_ns = vm->stats.start_ns;
	console_init(&vm->con, cfg->console_fd);
	serial_init(&vm->uart, VMM_PORT_SERIAL, &vm->con);
	conin_init(&vm->conin);
	if (cfg->pause_at_line && vm_watch_console(vm, cfg->pause_at_line))
		return VMM_STATUS_USAGE;
	return vm_register_devices(vm) ? VMM_STATUS_INTERNAL : 0;
}

/* The command line the guest gets: cfg's or the machine's default; a
 * Linux kernel is told to reset at once on a panic (panic=-1, first: what
 * follows "--" is init's) unless the line says otherwise, so that a panic
 * ends the run instead of hanging it. */
static void vm_cmdline(const struct vm_config *cfg, char *buf, size_t len)
{
	const struct machine_kind *mk = machine_get(cfg->machine);
	const char *c = cfg->cmdline ? cfg->cmdline : mk->default_cmdline;

	snprintf(buf, len, "%s%s",
		 mk->id == MACHINE_LINUX && !strstr(c, "panic=") ? "panic=-1 " : "", c);
}

/* The command line against what the kernel takes, before KVM. */
static int vm_check_cmdline(const struct vm_config *cfg, const struct kernel *k)
{
	char cmdline[BOOT_CMDLINE_MAX + 16];

	vm_cmdline(cfg, cmdline, sizeof(cmdline));
	if (k->format == KERNEL_BZIMAGE && bzimage_check_cmdline(&k->bz, cmdline))
		return VMM_STATUS_USAGE;
	return 0;
}

/* The PVH kernel and its initrd loaded, the boot data written and the
 * vCPU at its entry. */
static int vm_boot_pvh(struct vm *vm, const char *cmdline, struct kernel *k,
		       const struct initrd *rd)
{
	struct boot_params bp = {.cmdline = cmdline,
				 .hcall_services = true,
				 .initrd_gpa = rd->gpa,
				 .initrd_size = rd->file.size};
	struct load_info li;
	int ret;

	ret = loader_load_image(k->file.path, k->file.buf, k->file.size, &vm->mem, &li);
	if (ret)
		return ret == -EINVAL ? VMM_STATUS_USAGE : VMM_STATUS_INTERNAL;
	if (rd->file.path && initrd_load(rd, &vm->mem))
		return VMM_STATUS_INTERNAL;
	vm->stats.loader_pages = li.pages + (rd->file.path ? initrd_pages(rd->file.size) : 0);
	bp.tsc_hz = vm->tsc_hz;
	ret = boot_setup(&vm->mem, &bp);
	if (ret)
		return ret == -EINVAL ? VMM_STATUS_USAGE : VMM_STATUS_INTERNAL;
	return vcpu_reset_pvh(&vm->vcpu, li.entry, BOOT_START_INFO_GPA) ? VMM_STATUS_INTERNAL : 0;
}

/* A bzImage: the 64-bit boot protocol, with the ACPI tables. */
static int vm_boot_bzimage(struct vm *vm, const char *cmdline, struct kernel *k,
			   const struct initrd *rd)
{
	const struct bzimage *bz = &k->bz;
	struct bzimage_boot b = {.cmdline = cmdline,
				 .initrd_gpa = rd->gpa,
				 .initrd_size = rd->file.size,
				 .rsdp_gpa = BZIMAGE_ACPI_GPA};
	struct vcpu_long_entry e = {.rip = bzimage_entry(bz),
				    .rsi = BZIMAGE_BOOT_PARAMS_GPA,
				    .cr3 = BZIMAGE_PML4_GPA,
				    .gdt_base = BZIMAGE_GDT_GPA,
				    .gdt_limit = 4 * 8 - 1,
				    .code_sel = BZIMAGE_CODE_SEL,
				    .data_sel = BZIMAGE_DATA_SEL};
	uint8_t acpi[ACPI_TABLES_MAX];
	int ret;

	if (bzimage_load(k->file.path, k->file.buf, bz, &vm->mem) ||
	    (rd->file.path && initrd_load(rd, &vm->mem)) ||
	    guest_ram_write(&vm->mem, BZIMAGE_ACPI_GPA, acpi, acpi_build(acpi, BZIMAGE_ACPI_GPA)))
		return VMM_STATUS_INTERNAL;
	vm->stats.loader_pages =
	    bzimage_pages(bz) + (rd->file.path ? initrd_pages(rd->file.size) : 0);
	ret = bzimage_setup(&vm->mem, k->file.buf, bz, &b);
	if (ret)
		return ret == -EINVAL ? VMM_STATUS_USAGE : VMM_STATUS_INTERNAL;
	return vcpu_reset_long(&vm->vcpu, &e) ? VMM_STATUS_INTERNAL : 0;
}

static int vm_boot(struct vm *vm, struct kernel *k, const struct initrd *rd)
{
	char cmdline[BOOT_CMDLINE_MAX + 16];

	vm_cmdline(&vm->cfg, cmdline, sizeof(cmdline));
	vm->tsc_hz = vcpu_tsc_hz(&vm->vcpu, &vm->kvm);
	return k->format == KERNEL_BZIMAGE ? vm_boot_bzimage(vm, cmdline, k, rd)
					   : vm_boot_pvh(vm, cmdline, k, rd);
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct vm_config c = *cfg;
	struct kernel kernel = {0};
	struct initrd rd = {0};
	/* Every input is read and checked before /dev/kvm is opened, so that a
	 * bad image is a usage error (2) on any host, with KVM or without. */
	int ret = vm_read_kernel(cfg, &kernel, &rd), begun;

	if (!ret)
		ret = vm_pick_machine(&c, &kernel);
	if (!ret)
		ret = vm_check_cmdline(&c, &kernel);
	begun = vm_create_begin(vm, &c); /* whatever happened: the caller reports on it */
	if (!ret)
		ret = begun;
	if (!ret)
		ret = vm_create_machine(vm, &c, NULL, NULL);
	if (!ret)
		ret = vm_boot(vm, &kernel, &rd);
	kernel_free(&kernel);
	initrd_free(&rd);
	if (!ret && guest_ram_start(&vm->mem))
		ret = VMM_STATUS_INTERNAL;
	return ret;
}

void vm_destroy(struct vm *vm)
{
	struct vm_shell kvm_objects;

	/* The fault thread first: its fatal path writes the vCPU's kvm_run. */
	guest_ram_destroy(&vm->mem);
	conin_stop(&vm->conin);
	kvm_objects = vm_shell_empty();
	vm_swap_shell(vm, &kvm_objects);
	vm_shell_destroy(&kvm_objects);
	console_destroy(&vm->con);
	serial_destroy(&vm->uart);
	if (vm->pause_at.set)
		regfree(&vm->pause_at.re);
	pthread_mutex_destroy(&vm->run.lock);
	pthread_mutex_destroy(&vm->snap_lock);
	pthread_cond_destroy(&vm->run.cond);
}

/* Every device of the VM claims its ports and its state's row here, once. */
static int vm_register_devices(struct vm *vm)
{
	int ret = serial_register(&vm->uart, &vm->io, &vm->states);

	if (!ret)
		ret = console_register(&vm->con, &vm->states);
	if (!ret)
		ret = vm_exit_register(vm);
	if (!ret)
		ret = vm->machine->add_devices(vm);
	if (!ret)
		ret = forkid_register(&vm->forkid, &vm->io, &vm->states);
	return ret ? err_errno(-ret, "vm", "cannot register the devices' ports: %s", strerror(-ret))
		   : 0;
}
