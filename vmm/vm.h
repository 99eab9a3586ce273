/* vmm/vm.h: one virtual machine: its RAM, vCPU, devices and run loop.
 *
 * vm_create() builds a VM from a run configuration (KVM set-up, kernel
 * load, boot information), vm_run() runs it until the guest reports a
 * result, crashes or times out, and returns the vmm exit status.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "acpi_pm.h"
#include "conin.h"
#include "console.h"
#include "devstate.h"
#include "guest_counters.h"
#include "guest_ram.h"
#include "histo.h"
#include "ioport.h"
#include "irqchip.h"
#include "kvm.h"
#include "kvmclock.h"
#include "loader.h"
#include "machine.h"
#include "pit.h"
#include "reset.h"
#include "serial.h"
#include "vcpu.h"

struct snapshot_load_opts;

struct snap_reader;

#define VM_PAUSE_TIMEOUT_MS 10000 /* a vCPU that cannot park by then is reported */

/* Exit statuses of the vmm program (documented in vmm --help and vmm(1)). */
enum vmm_status {
	VMM_STATUS_OK = 0,	   /* the guest reported success */
	VMM_STATUS_GUEST_FAIL = 1, /* the guest reported failure */
	VMM_STATUS_USAGE = 2,	   /* bad usage or bad input */
	VMM_STATUS_CRASH = 3,	   /* triple fault, exception, bad access, timeout */
	VMM_STATUS_INTERNAL = 4,   /* the VMM itself failed */
};

struct snapshot_job;
struct fleet;
struct snapshot_machine;

struct vm_config {
	const char *kernel;
	const char *initrd;	 /* NULL: none (boot/initrd.h) */
	enum machine_id machine; /* MACHINE_AUTO: from the kernel image (machine.h) */
	uint64_t mem_bytes;
	uint64_t host_mem_bytes; /* budget of the VMM manager; 0: mem_bytes */
	enum guest_ram_manager manager;
	unsigned fault_around;	   /* max pages per second-level fault */
	bool pin;		   /* vCPU and fault thread share one CPU */
	const char *cmdline;	   /* NULL: the machine's default */
	const char *pause_at_line; /* a POSIX extended regex: each console line
				    * matching it pauses the VM; NULL: none */
	unsigned timeout_sec;	   /* 0: none */
	unsigned stats_interval;   /* seconds between stats lines on stderr; 0: none */
	int console_fd;
	bool console_input;    /* stdin feeds the UART, if the machine has input (conin.h) */
	const char *swap_path; /* overcommit: see guest_ram.h; NULL: none */
	uint64_t swap_bytes;
	bool swap_sync, oom_protect;
	unsigned swap_readahead;
	unsigned wss_period_ms, wss_samples;
	bool restore_check_hash; /* vm_create_restored: memory against the snapshot's hash */
	/* vm_create_restored: how memory is loaded (restore.h); NULL: plainly */
	const struct snapshot_load_opts *restore_load;
	struct vm *fork_parent; /* vm_create_forked: RAM from its fork image */
	bool start_paused;	/* paused from the start: vm_resume runs it */
};

/* Counted by the VMM; KVM's own statistics are read separately at exit. */
struct vm_stats {
	uint64_t io_exits;
	uint64_t open_bus_io; /* port accesses no device claimed (open_bus machines) */
	uint64_t mmio_exits;
	uint64_t hcalls[4]; /* indexed by VMM_HC_* */
	uint64_t hcall_errors;
	uint64_t pages_discarded;
	uint64_t pages_copied;
	uint64_t loader_pages;
	uint64_t start_ns;     /* CLOCK_MONOTONIC, as every time here */
	uint64_t first_run_ns; /* the first KVM_RUN (atomic: the vCPU thread sets it) */
	uint64_t end_ns;
};

/* Pause and resume latencies, requested to acknowledged (see vm_run.c). */
struct vm_pause_stats {
	uint64_t pauses, resumes;
	uint64_t paused_ns; /* total time spent paused */
	struct histo pause_ns, resume_ns;
};

struct vm {
	struct kvm kvm;
	int fd;
	int stats_fd; /* KVM binary statistics of the VM, -1 if unsupported */
	struct guest_ram mem;
	struct vcpu vcpu;
	int nr_vcpus; /* vCPUs in vcpu (one, for now) */
	const struct machine_kind *machine;
	struct console con;
	struct serial uart;
	struct conin conin;
	/* A Linux machine's (machine.h); unused by the others. */
	struct irqchip irqchip;
	struct pit pit;
	struct kvmclock clock;
	struct acpi_pm acpi_pm;
	struct reset_dev reset;
	struct ioport_bus io;	      /* ports, claimed by each device at creation */
	struct devstate_table states; /* each device's save and restore, added likewise */
	struct vm_stats stats;
	struct guest_counters counters; /* reads of the guest's counters page */
	/* Which VM this is among a fork's (forkid.h): 0 and 0 if booted. */
	uint16_t fork_generation, fork_index;
	uint64_t tsc_hz;
	unsigned timeout_sec;
	unsigned stats_interval;

	/* Run state, under stop_lock; state_cond wakes whoever waits on it. */
	pthread_mutex_t stop_lock;
	pthread_cond_t state_cond;
	bool pause_req;			 /* vCPUs are to park, or are parked */
	int nr_parked;			 /* vCPUs parked */
	uint64_t unparks, resume_target; /* parks left, and how many a resume waits for */
	int nr_running;			 /* vCPU threads not yet returned */
	uint64_t paused_at_ns;
	struct vm_pause_stats pause;
	int status;	  /* enum vmm_status, once done */
	char reason[256]; /* why the VM stopped */
	bool timed_out;	  /* --timeout stopped it: its RIP is reported once stopped */
	bool done;	  /* read without the lock by the vCPU loop (atomic) */

	struct vm_config cfg; /* what it was made from: its children's too */
	regex_t pause_re;     /* cfg.pause_at_line, compiled */
	bool pause_re_set;
	char name[24];	     /* "[G.I] " for a fork child, before its messages; else "" */
	struct fleet *fleet; /* the VMs of this vmm process (fleet.h), NULL: none */

	/* The snapshot being written, or the last one (snapshot.h). */
	pthread_mutex_t snap_lock;
	struct snapshot_job *snap;
};

/* The run state's lock and condition (vm_create does it; for tests). */
void vm_init_sync(struct vm *vm);
/* 0, or an enum vmm_status describing why the VM could not be built. */
int vm_create(struct vm *vm, const struct vm_config *cfg);
/* A VM from the snapshot r instead of a kernel (snapshot/restore.h):
 * cfg->mem_bytes is the snapshot's, cfg->kernel and cfg->cmdline unused.
 * No kernel is loaded and no boot data written: guest memory, the vCPU
 * and the devices come from r, which must stay open while the VM lives
 * (lazy: its pages are read as the guest touches them; eager: all before
 * the guest runs). 0 or an enum vmm_status, as vm_create. */
int vm_create_restored(struct vm *vm, const struct vm_config *cfg, struct snap_reader *r,
		       bool lazy);
/* The first step of both, and all a test needs for a VM's devices: the
 * run state, the console and every device of cfg->machine (MACHINE_AUTO:
 * the vmm machine) registered; nothing opened. */
int vm_create_begin(struct vm *vm, const struct vm_config *cfg);
/* A fork child of parent (snapshot/fork.h): memory from parent's fork
 * image, vCPU and devices from m, the identity (generation, index) on the
 * fork-id port. cfg->fork_parent is parent. 0 or an enum vmm_status. */
int vm_create_forked(struct vm *vm, const struct vm_config *cfg, const struct snapshot_machine *m,
		     uint16_t generation, uint16_t index);
void vm_destroy(struct vm *vm);
/* Run until the guest stops; returns enum vmm_status. Each vCPU runs in
 * a thread of its own; the calling thread keeps the clock (--timeout,
 * --stats-interval). */
int vm_run(struct vm *vm);
/* Park every vCPU outside KVM_RUN and return once all are parked: 0,
 * -EALREADY if paused, -ESRCH if the VM has stopped, -ETIMEDOUT if a vCPU
 * did not park within VM_PAUSE_TIMEOUT_MS (the pause is then undone). */
int vm_pause(struct vm *vm);
/* From a vCPU thread, in the middle of an exit: every vCPU parks before
 * the guest runs on (this one once its exit is complete), as if vm_pause
 * had been called. Counted as a pause; no latency recorded. */
void vm_pause_self(struct vm *vm);
/* Release the parked vCPUs: 0, -EINVAL if not paused, -ESRCH if stopped. */
int vm_resume(struct vm *vm);
/* "running", "paused" or "stopped". */
const char *vm_state_name(struct vm *vm);
/* Get every vCPU out of KVM_RUN to look at the run state (vm_run.c). */
void vm_kick(struct vm *vm);
/* Install the signal that vm_kick sends; once per process is enough. */
int vm_run_init_signal(void);
/* One exit of KVM_RUN (vm.c). */
void vm_handle_exit(struct vm *vm, struct kvm_run *run);
/* Stop the VM with a status and a reason (printed and kept for stats). */
void vm_stop(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

uint64_t vm_now_ns(void);

/* The exit port's state (devstate.h): it has none, since a write to it
 * stops the VM at once. Version VM_EXIT_STATE_VERSION and no fields. */
#define VM_EXIT_STATE_VERSION 1
int vm_exit_save(const struct vm *vm, void *buf, size_t len, size_t *used);
int vm_exit_restore(struct vm *vm, const void *buf, size_t len, char *err, size_t errlen);
/* Claim the exit port and its row in the VM's states. */
int vm_exit_register(struct vm *vm);

#endif
