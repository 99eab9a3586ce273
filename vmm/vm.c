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
#include "initrd.h"
#include "kernel.h"
#include "restore.h"
#include "snapshot.h"
#include "stats.h"
#include "vmm_abi.h"

/* Outside guest RAM and below 4 GiB: KVM's real-mode TSS and identity map (Intel). */
#define VM_TSS_GPA	    0xfffbd000ULL
#define VM_IDENTITY_MAP_GPA 0xfffbc000ULL

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void vm_stop(struct vm *vm, int status, const char *fmt, ...)
{
	char reason[sizeof(vm->reason)];
	bool print = false;
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->done) {
		va_start(ap, fmt);
		vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
		va_end(ap);
		vm->status = status;
		__atomic_store_n(&vm->done, true, __ATOMIC_SEQ_CST);
		print = status != VMM_STATUS_OK;
		memcpy(reason, vm->reason, sizeof(reason));
	}
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	vm_kick(vm);
	/* Not under the lock: a stderr that blocks must not hold whoever
	 * waits on the run state. */
	if (print)
		fprintf(stderr, "vmm: %s%s\n", vm->name, reason);
}

void vm_init_sync(struct vm *vm)
{
	pthread_condattr_t a;

	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->snap_lock, NULL);
	/* The deadlines of vm_run.c are CLOCK_MONOTONIC, like every clock here. */
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->state_cond, &a);
	pthread_condattr_destroy(&a);
}

/* From the fault thread: the VM cannot go on. */
static void vm_on_fatal(void *arg, const char *msg)
{
	vm_stop(arg, VMM_STATUS_CRASH, "%s", msg);
}

static int vm_set_memory(struct vm *vm)
{
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
		    .slot = i,
		    .guest_phys_addr = vm->mem.region[i].gpa,
		    .memory_size = vm->mem.region[i].size,
		    .userspace_addr = (uintptr_t)vm->mem.region[i].hva,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return err_sys("guest memory", "KVM_SET_USER_MEMORY_REGION");
	}
	return 0;
}

/* Pin the calling (vCPU) thread to the CPU it runs on and return it: a
 * fault handler on the same CPU avoids a cross-CPU wake-up per fault. */
static int vm_pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -1 : cpu;
}

/* Guest RAM of cfg->mem_bytes, with source behind it (lazy restore) or
 * NULL; it takes swap (opened, or NULL) whatever happens. */
static int vm_create_ram(struct vm *vm, const struct vm_config *cfg, struct swapfile *swap,
			 const struct vmem_source_ops *source, void *source_arg)
{
	struct guest_ram_params child = {.handler_cpu = cfg->pin ? vm_pin_cpu() : -1,
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
					   .handler_cpu = cfg->pin ? vm_pin_cpu() : -1,
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
				       });

	return ret ? ret : vm_set_memory(vm);
}

/* KVM, guest RAM and the vCPU with its CPUID; swap as for vm_create_ram. */
static int vm_create_kvm(struct vm *vm, const struct vm_config *cfg, struct swapfile *swap,
			 const struct vmem_source_ops *source, void *source_arg)
{
	int ret;

	ret = kvm_open(&vm->kvm, "/dev/kvm");
	if (!ret && (vm->fd = ioctl(vm->kvm.fd, KVM_CREATE_VM, 0)) < 0)
		ret = err_sys("/dev/kvm", "KVM_CREATE_VM");
	if (ret) {
		swapfile_close(swap);
		return ret;
	}
	if (vm->kvm.has_tss_addr && ioctl(vm->fd, KVM_SET_TSS_ADDR, VM_TSS_GPA) < 0)
		ret = err_sys("vm", "KVM_SET_TSS_ADDR");
	if (!ret && vm->kvm.has_identity_map_addr &&
	    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){VM_IDENTITY_MAP_GPA}) < 0)
		ret = err_sys("vm", "KVM_SET_IDENTITY_MAP_ADDR");
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

/* Once every other input is checked: the swap file (input as well, so
 * first), then KVM, guest RAM and the vCPU. An enum vmm_status. */
static int vm_create_machine(struct vm *vm, const struct vm_config *cfg,
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
	if (!regexec(&vm->pause_re, buf, 0, NULL, 0))
		vm_pause_self(vm);
}

/* --pause-at-line: checked by the command line already. */
static int vm_watch_console(struct vm *vm, const char *regex)
{
	int ret = regcomp(&vm->pause_re, regex, REG_EXTENDED | REG_NOSUB);

	if (ret)
		return err_input("--pause-at-line", "'%s': not a valid extended regex", regex);
	vm->pause_re_set = true;
	console_watch(&vm->con, vm_pause_at_line, vm);
	return 0;
}

int vm_create_begin(struct vm *vm, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm.fd = vm->fd = vm->stats_fd = vm->vcpu.fd = vm->vcpu.stats_fd = -1;
	vm->stats.start_ns = vm_now_ns();
	vm->timeout_sec = cfg->timeout_sec;
	vm->stats_interval = cfg->stats_interval;
	vm->cfg = *cfg;
	vm->machine = machine_get(cfg->machine == MACHINE_AUTO ? MACHINE_VMM : cfg->machine);
	vm->cfg.machine = vm->machine->id;
	vm_init_sync(vm);
	/* Paused before its first instruction: its vCPU parks at once. */
	vm->pause_req = cfg->start_paused;
	vm->paused_at_ns = vm->stats.start_ns;
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

/* What a snapshot can get wrong but its pages' data, before KVM. */
static int vm_check_restore(struct vm *vm, const struct vm_config *cfg, struct snap_reader *r,
			    bool lazy, const struct snapshot_machine *m)
{
	uint64_t need = snapshot_data_pages(r) * GUEST_RAM_PAGE_SIZE;
	char err[512];

	if (snapshot_restore_devices(vm, m, err, sizeof(err)))
		return err_input("restore", "%s", err), VMM_STATUS_USAGE;
	/* Without swap, an eager restore must fit the budget: it makes every
	 * data page resident before the guest runs. */
	if (!lazy && !cfg->swap_path && cfg->host_mem_bytes && cfg->host_mem_bytes < need)
		return err_input("--host-mem",
				 "%lluK: an eager restore of %s makes %lluK resident (use --lazy "
				 "or --swap)",
				 (unsigned long long)cfg->host_mem_bytes >> 10, snap_reader_path(r),
				 (unsigned long long)need >> 10),
		       VMM_STATUS_USAGE;
	return 0;
}

/* Guest memory from r, eagerly or lazily, then the vCPU's state. */
static int vm_restore_state(struct vm *vm, struct snap_reader *r, bool lazy,
			    const struct vm_config *cfg, const struct snapshot_machine *m)
{
	char err[512];
	int ret;

	ret = lazy ? snapshot_set_lazy(&vm->mem, r, cfg->restore_load, err, sizeof(err))
		   : snapshot_load_eager(&vm->mem, r, err, sizeof(err));
	if (!ret && cfg->restore_check_hash)
		ret = snapshot_check_memory_hash(&vm->mem, r, err, sizeof(err));
	if (ret) {
		err_errno(-ret, "restore", "%s", err);
		return ret == -EBADMSG || ret == -EIO || ret == -ENOENT || ret == -EINVAL
			   ? VMM_STATUS_USAGE
			   : VMM_STATUS_INTERNAL;
	}
	/* Faults are served from here on: setting the vCPU's paravirtual MSRs
	 * (kvm-clock, steal time) makes KVM map the guest pages they name,
	 * and a lazily restored one is a fault. */
	if (guest_ram_start(&vm->mem))
		return VMM_STATUS_INTERNAL;
	ret = snapshot_restore_vcpu(vm, m, err, sizeof(err));
	if (ret) {
		err_errno(-ret, "restore", "%s", err);
		return ret == -EINVAL ? VMM_STATUS_USAGE : VMM_STATUS_INTERNAL;
	}
	return 0;
}

int vm_create_restored(struct vm *vm, const struct vm_config *cfg, struct snap_reader *r, bool lazy)
{
	struct snapshot_machine m = {0};
	struct vm_config c = *cfg;
	char err[512];
	int ret = 0, begun;

	/* The machine first: it says which devices the VM has. */
	if (snapshot_read_machine(r, &m, err, sizeof(err))) {
		err_input("restore", "%s", err);
		ret = VMM_STATUS_USAGE;
	}
	c.machine = ret ? MACHINE_AUTO : m.machine;
	begun = vm_create_begin(vm, &c); /* whatever happened: the caller reports on it */
	if (!ret)
		ret = begun;
	if (!ret)
		ret = vm_check_restore(vm, cfg, r, lazy, &m);
	if (!ret)
		ret = vm_create_machine(vm, cfg, lazy ? &snapshot_source_ops : NULL, r);
	if (!ret)
		ret = vm_restore_state(vm, r, lazy, cfg, &m);
	snapshot_machine_free(&m);
	return ret;
}

int vm_create_forked(struct vm *vm, const struct vm_config *cfg, const struct snapshot_machine *m,
		     uint16_t generation, uint16_t index)
{
	char err[512];
	int ret = vm_create_begin(vm, cfg);

	snprintf(vm->name, sizeof(vm->name), "[%u.%u] ", generation, index);
	if (!ret && snapshot_restore_devices(vm, m, err, sizeof(err))) {
		err_input("fork", "%s", err);
		ret = VMM_STATUS_INTERNAL;
	}
	forkid_set(vm, generation, index);
	if (!ret)
		ret = vm_create_machine(vm, cfg, NULL, NULL);
	/* Faults served first, as for a restore (vm_restore_state). */
	if (!ret && guest_ram_start(&vm->mem))
		ret = VMM_STATUS_INTERNAL;
	if (!ret && snapshot_restore_vcpu(vm, m, err, sizeof(err))) {
		err_input("fork", "%s", err);
		ret = VMM_STATUS_INTERNAL;
	}
	return ret;
}

void vm_destroy(struct vm *vm)
{
	/* A snapshot being written still reads guest memory: it ends first. */
	snapshot_finish(vm);
	/* The fault thread next: its fatal path writes the vCPU's kvm_run. */
	guest_ram_destroy(&vm->mem);
	conin_stop(&vm->conin);
	vcpu_destroy(&vm->vcpu);
	if (vm->stats_fd >= 0)
		close(vm->stats_fd);
	if (vm->fd >= 0)
		close(vm->fd);
	kvm_close(&vm->kvm);
	console_destroy(&vm->con);
	serial_destroy(&vm->uart);
	if (vm->pause_re_set)
		regfree(&vm->pause_re);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_mutex_destroy(&vm->snap_lock);
	pthread_cond_destroy(&vm->state_cond);
}

static void vm_exit_port(struct vm *vm, uint32_t value)
{
	switch (value) {
	case VMM_GUEST_SUCCESS:
		vm_stop(vm, VMM_STATUS_OK, "guest reported success");
		break;
	case VMM_GUEST_FAILURE:
		vm_stop(vm, VMM_STATUS_GUEST_FAIL, "guest reported failure");
		break;
	case VMM_GUEST_CRASH:
		vm_stop(vm, VMM_STATUS_CRASH, "guest kernel reported a crash (rip %#lx)",
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	default:
		vm_stop(vm, VMM_STATUS_GUEST_FAIL,
			"guest wrote %#x to the exit port: expected 0, 1 or 3", value);
	}
}

/* The isa-debug-exit port: the guest's verdict. */
static bool vm_exit_io(void *dev, const struct ioport_access *a)
{
	uint32_t v = 0;

	if (!a->out || a->size > sizeof(v))
		return false;
	memcpy(&v, a->data, a->size);
	vm_exit_port(dev, v);
	return true;
}

int vm_exit_save(const struct vm *vm, void *buf, size_t len, size_t *used)
{
	(void)vm;
	return devstate_save_empty(VM_EXIT_STATE_VERSION, buf, len, used);
}

int vm_exit_restore(struct vm *vm, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)vm;
	return devstate_restore_empty("exit", VM_EXIT_STATE_VERSION, buf, len, err, errlen);
}

DEVSTATE_OPS(vm_exit_state_ops, "exit", struct vm, vm_exit_save, vm_exit_restore);

int vm_exit_register(struct vm *vm)
{
	int ret = ioport_register(&vm->io, VMM_PORT_EXIT, 4, "exit", vm_exit_io, vm);

	return ret ? ret : devstate_register(&vm->states, &vm_exit_state_ops, vm);
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
		ret = forkid_register(vm);
	return ret ? err_errno(-ret, "vm", "cannot register the devices' ports: %s", strerror(-ret))
		   : 0;
}

static void vm_handle_io(struct vm *vm, struct kvm_run *run)
{
	struct ioport_access a = {
	    .port = run->io.port,
	    .out = run->io.direction == KVM_EXIT_IO_OUT,
	    .size = run->io.size,
	    .count = run->io.count,
	    .data = (uint8_t *)run + run->io.data_offset,
	};

	vm->stats.io_exits++;
	if (ioport_dispatch(&vm->io, &a))
		return;
	if (vm->machine->open_bus) {
		/* What a PC's ISA bus does where no device answers. */
		if (!a.out)
			memset(a.data, 0xff, (size_t)a.size * a.count);
		vm->stats.open_bus_io++;
		return;
	}
	vm_stop(vm, VMM_STATUS_CRASH, "unhandled port %s: port %#x, %u bytes, rip %#lx",
		a.out ? "write" : "read", a.port, a.size, (unsigned long)vcpu_rip(&vm->vcpu));
}

void vm_handle_exit(struct vm *vm, struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vm_handle_io(vm, run);
		break;
	case KVM_EXIT_MMIO:
		vm->stats.mmio_exits++;
		if (vm->mem.vmem)
			vmem_count_invalid(vm->mem.vmem);
		vm_stop(vm, VMM_STATUS_CRASH,
			"guest %s outside RAM at GPA %#llx (%u bytes), rip %#lx",
			run->mmio.is_write ? "write" : "read", run->mmio.phys_addr, run->mmio.len,
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_SHUTDOWN:
		vm_stop(vm, VMM_STATUS_CRASH, "guest triple fault (shutdown), rip %#lx",
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_HLT:
		vm_stop(vm, VMM_STATUS_CRASH,
			"guest halted without writing the exit port, rip %#lx",
			(unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_stop(vm, VMM_STATUS_CRASH,
			"KVM internal error %u (emulation failure?), rip %#lx",
			run->internal.suberror, (unsigned long)vcpu_rip(&vm->vcpu));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm_stop(vm, VMM_STATUS_INTERNAL, "KVM could not enter the guest: reason %#llx",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		vm_stop(vm, VMM_STATUS_CRASH, "unexpected KVM exit %u, rip %#lx", run->exit_reason,
			(unsigned long)vcpu_rip(&vm->vcpu));
	}
}
