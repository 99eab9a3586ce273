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
#include "forkid.h"
#include "guest_counters.h"
#include "guest_ram.h"
#include "hcall.h"
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
struct machine_state;

/* A KVM VM made ahead of time, with its vCPU and CPUID (vm_pool.h): what
 * vm_create_machine makes first, for a machine without an irqchip (whose
 * irqchip would have to come before the vCPU). */
struct vm_shell {
	struct kvm kvm;
	int fd, stats_fd;
	struct vcpu vcpu;
};
/* 0, or -errno with the error reported; nothing is left on failure. */
int vm_shell_make(struct vm_shell *s, bool normalise_cpuid);
void vm_shell_destroy(struct vm_shell *s);

struct vm_pool;

struct vm_config {
	const char *kernel;
	const char *initrd;	 /* NULL: none (boot/initrd.h) */
	enum machine_id machine; /* MACHINE_AUTO: from the kernel image (machine.h) */
	uint64_t mem_bytes;
	uint64_t host_mem_bytes; /* budget of the VMM manager; 0: mem_bytes */
	enum guest_ram_manager manager;
	unsigned fault_around;		    /* max pages per second-level fault */
	bool pin;			    /* vCPU and fault thread share one CPU: */
	int pin_cpu;			    /* that one; -1: the one the builder runs on */
	const char *cmdline;		    /* NULL: the machine's default */
	const char *pause_at_line;	    /* a POSIX extended regex: each console line
					     * matching it pauses the VM; NULL: none */
	unsigned timeout_sec;		    /* 0: none */
	unsigned stats_interval;	    /* seconds between on_interval calls; 0: none */
	void (*on_interval)(struct vm *vm); /* from vm_run's thread (main: a stats line) */
	int console_fd;
	bool console_input;    /* stdin feeds the UART, if the machine has input (conin.h) */
	const char *swap_path; /* overcommit: see guest_ram.h; NULL: none */
	uint64_t swap_bytes;
	bool swap_sync, oom_protect;
	unsigned swap_readahead;
	unsigned wss_period_ms, wss_samples;
	bool restore_check_hash; /* snapshot_restore_vm: memory against the snapshot's hash */
	/* snapshot_restore_vm: how memory is loaded (restore.h); NULL: plainly */
	const struct snapshot_load_opts *restore_load;
	struct vm *fork_parent; /* a fork child's (fork.h): RAM from its fork image */
	bool start_paused;	/* paused from the start: vm_resume runs it */
	/* The process's, made by main (NULL: none; a frame store of its own). */
	struct host *host;    /* the frame store (guest_ram_host_create) */
	uint64_t main_ns;     /* when main began this run (stats: vmm.phases); 0: unknown */
	struct fleet *fleet;  /* where its fork children run (fleet.h) */
	struct vm_pool *pool; /* KVM VMs made ahead for its fork children; NULL: none */
	/* A fork child's KVM VM from the pool: vm_create_machine adopts it
	 * (its fd is -1 then); what is left is the caller's. NULL: none. */
	struct vm_shell *shell;
};

/* Counted by the VMM; KVM's own statistics are read separately at exit. */
struct vm_stats {
	uint64_t io_exits;
	uint64_t open_bus_io; /* port accesses no device claimed (open_bus machines) */
	uint64_t mmio_exits;
	uint64_t loader_pages;
	uint64_t start_ns;     /* CLOCK_MONOTONIC, as every time here */
	uint64_t first_run_ns; /* the first KVM_RUN (atomic: the vCPU thread sets it) */
	uint64_t stop_ns;      /* vm_stop's first call: the guest's end */
	uint64_t end_ns;
	uint64_t exit_ns; /* spent in user space on exits, KVM_RUN to KVM_RUN (vCPU thread) */
};

/* Pause and resume latencies, requested to acknowledged (see vm_run.c). */
struct vm_pause_stats {
	uint64_t pauses, resumes;
	uint64_t paused_ns; /* total time spent paused */
	struct histo pause_ns, resume_ns;
};

/* A PC's devices, which the linux machine has (machine.h). */
struct vm_pc_devices {
	struct irqchip irqchip;
	struct pit pit;
	struct kvmclock clock;
	struct acpi_pm acpi_pm;
	struct reset_dev reset;
};

/* The run state (vm_state.c, vm_run.c), under lock; cond wakes whoever
 * waits on it. */
/* Holds vCPU threads before their first instruction until it opens, so
 * that VMs made one after another start together (a fork's children):
 * one started early would take a CPU from the making of the next. */
struct vm_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
};

struct vm_run_state {
	struct vm_gate *gate; /* passed before the first instruction; NULL: none */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause_req;			 /* vCPUs are to park, or are parked */
	int nr_parked;			 /* vCPUs parked */
	uint64_t unparks, resume_target; /* parks left, and how many a resume waits for */
	int nr_running;			 /* vCPU threads not yet returned */
	uint64_t paused_at_ns;
	struct vm_pause_stats pause;
	bool timed_out; /* --timeout stopped it: its RIP is reported once stopped */
};

struct vm {
	struct vm_config cfg; /* what it was made from: its children's too */
	struct kvm kvm;
	int fd;
	int stats_fd; /* KVM binary statistics of the VM, -1 if unsupported */
	struct guest_ram mem;
	struct vcpu vcpu;
	int nr_vcpus; /* vCPUs in vcpu (one, for now) */
	const struct machine_kind *machine;
	int cpu; /* of the vCPU and fault threads, -1: not pinned */
	uint64_t tsc_hz;

	/* Devices: the common ones, then the machine's. */
	struct ioport_bus io;	      /* ports, claimed by each device at creation */
	struct devstate_table states; /* each device's save and restore, added likewise */
	struct console con;
	struct serial uart;
	struct conin conin;
	struct forkid forkid; /* which VM this is among a fork's (forkid.h) */
	struct hcall hcall;   /* the vmm machine's */
	struct vm_pc_devices pc;

	struct vm_stats stats;
	struct guest_counters counters; /* reads of the guest's counters page */

	struct vm_run_state run;
	int status;	  /* enum vmm_status, once done */
	char reason[256]; /* why the VM stopped */
	bool done;	  /* read without the lock by the vCPU loop (atomic) */
	struct {
		regex_t re; /* cfg.pause_at_line, compiled */
		bool set;
	} pause_at;
	char name[24]; /* "[G.I] " for a fork child, before its messages; else "" */

	/* The snapshot being written, or the last one (snapshot.h). */
	pthread_mutex_t snap_lock;
	struct snapshot_job *snap;
};

/* The run state's lock and condition (vm_create does it; for tests). */
void vm_init_sync(struct vm *vm);
/* 0, or an enum vmm_status describing why the VM could not be built. */
int vm_create(struct vm *vm, const struct vm_config *cfg);
/* A VM is built in two steps, by vm_create here and by the restore and
 * fork constructors (snapshot/restore.h, snapshot/fork.h). The first,
 * and all a test needs for a VM's devices: the run state, the console
 * and every device of cfg->machine (MACHINE_AUTO: the vmm machine)
 * registered; nothing opened. */
int vm_create_begin(struct vm *vm, const struct vm_config *cfg);
/* The second, once every other input is checked: the swap file (input
 * as well, so first), then KVM, guest RAM (its pages from source if not
 * NULL, or from cfg->fork_parent's fork image) and the vCPU. An enum
 * vmm_status. */
int vm_create_machine(struct vm *vm, const struct vm_config *cfg,
		      const struct vmem_source_ops *source, void *source_arg);
void vm_destroy(struct vm *vm);
/* Guest RAM's view moved (a fork): the KVM memory slots follow it. Only
 * with every vCPU out of KVM_RUN. 0, or -errno with the error reported. */
int vm_move_memory(struct vm *vm);
/* The same without deleting a slot: vm, paused, goes on in the KVM VM and
 * vCPU of shell (made ahead, vm_pool.h) with slots on its views as they
 * are now; its old KVM VM and vCPU go into *old, for the caller to close
 * (vm_shell_destroy) off the critical path. The vCPU's state is the
 * caller's to restore into the new vCPU (machine_state.h). 0 or -errno. */
int vm_move_to_shell(struct vm *vm, struct vm_shell *shell, struct vm_shell *old);
/* Run until the guest stops; returns enum vmm_status. Each vCPU runs in
 * a thread of its own, started here unless vm_run_start did; the calling
 * thread keeps the clock (--timeout, --stats-interval). */
int vm_run(struct vm *vm);
/* Only start the vCPU thread, so that the guest runs before the thread
 * that will call vm_run does; it waits for gate (if not NULL) to open
 * first. 0, or -errno with the VM stopped. */
int vm_run_start(struct vm *vm, struct vm_gate *gate);
void vm_gate_init(struct vm_gate *g); /* open */
void vm_gate_set(struct vm_gate *g, bool open);
void vm_gate_pass(struct vm_gate *g); /* waits while g is closed; NULL: none */
void vm_gate_destroy(struct vm_gate *g);
/* Park every vCPU outside KVM_RUN and return once all are parked: 0,
 * -EALREADY if paused, -ESRCH if the VM has stopped, -ETIMEDOUT if a vCPU
 * did not park within VM_PAUSE_TIMEOUT_MS (the pause is then undone). */
int vm_pause(struct vm *vm);
/* From a vCPU thread, in the middle of an exit: every vCPU parks before
 * the guest runs on (this one once its exit is complete), as if vm_pause
 * had been called. Counted as a pause; no latency recorded. */
void vm_pause_self(struct vm *vm);
/* A pause in parts (snapshot and fork), CLOCK_MONOTONIC ns. */
struct vm_pause_parts {
	uint64_t pause_ns; /* vCPUs stopped: park + machine + freeze + resume */
	uint64_t park_ns, machine_ns, freeze_ns, resume_ns;
	uint64_t resumed_ns; /* when the guest ran again */
};
/* Park vm's vCPUs (a VM the user paused stays paused), call machine(arg),
 * then freeze(arg) if it succeeded, and resume: the pause in parts into
 * *p. 0, or the first failure with err saying why (the callbacks fill err
 * themselves). */
int vm_pause_for(struct vm *vm, int (*machine)(void *arg, char *err, size_t errlen),
		 int (*freeze)(void *arg, char *err, size_t errlen), void *arg,
		 struct vm_pause_parts *p, char *err, size_t errlen);
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

/* The exit port's state (devstate.h): it has none, since a write to it
 * stops the VM at once. Version VM_EXIT_STATE_VERSION and no fields. */
#define VM_EXIT_STATE_VERSION 1
int vm_exit_save(const struct vm *vm, void *buf, size_t len, size_t *used);
int vm_exit_restore(struct vm *vm, const void *buf, size_t len, char *err, size_t errlen);
/* Claim the exit port and its row in the VM's states. */
int vm_exit_register(struct vm *vm);

#endif
