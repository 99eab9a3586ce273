/* vmm/cli.h: command-line parsing for the vmm program.
 *
 * Every value is checked; a bad one gets -EINVAL and a message naming the
 * option and what was expected. Parsing has no side effects, so tests can
 * call it freely.
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "machine.h"

#define CLI_DEFAULT_MEM	     (64ULL << 20)
#define CLI_DEFAULT_CMDLINE  MACHINE_VMM_CMDLINE /* vmm dtb's */
#define CLI_MIN_MEM	     (4ULL << 20)
#define CLI_MAX_TIMEOUT	     (7 * 24 * 3600)
#define CLI_MAX_RECORD_WS_MS 3600000 /* an hour */

#define CLI_DEFAULT_FAULT_AROUND 512
#define CLI_DEFAULT_WSS_MS	 1000
#define CLI_DEFAULT_WSS_SAMPLES	 400
#define CLI_MAX_WSS_SAMPLES	 4096
#define CLI_DEFAULT_READAHEAD	 16
#define CLI_DEFAULT_FORK_POOL	 4  /* VM_POOL_DEFAULT */
#define CLI_MAX_FORK_POOL	 64 /* VM_POOL_MAX */

struct run_opts {
	const char *kernel;	 /* NULL: the built-in guest kernel */
	const char *initrd;	 /* --initrd PATH; NULL: none */
	enum machine_id machine; /* --machine; MACHINE_AUTO: from the kernel image */
	uint64_t mem_bytes;
	uint64_t host_mem_bytes; /* 0: same as mem_bytes */
	bool kernel_manager;	 /* --memory-manager=kernel */
	unsigned fault_around;
	bool pin;
	const char *cmdline;	   /* NULL: the machine's default */
	const char *pause_at_line; /* --pause-at-line REGEX; NULL: none */
	unsigned timeout_sec;
	unsigned stats_interval;
	const char *stats_json;
	const char *control; /* --control PATH: the control socket */
	/* Overcommit (reclaim/): */
	const char *swap_path;	 /* --swap PATH; NULL: the budget is a hard limit */
	uint64_t swap_bytes;	 /* --swap-size; 0: the file's own size */
	bool swap_sync;		 /* --swap-sync: no io_uring */
	unsigned swap_readahead; /* --swap-readahead N: pages per swap-in, at most */
	bool oom_protect;	 /* --oom-protect */
	unsigned wss_period_ms;	 /* --wss-period MS; 0: no working-set sampling */
	unsigned wss_samples;
	const char *console_dir; /* --console-dir DIR: fork children's consoles */
	bool paused;		 /* --paused: start paused (needs --control) */
	unsigned fork_pool;	 /* --fork-pool N: KVM VMs made ahead for children */
};

/* vmm restore DIR [--lazy|--eager] [run's options but --kernel, --initrd,
 * --machine, --cmdline and --memory-manager] */
struct restore_opts {
	struct run_opts run; /* its kernel, cmdline and kernel_manager unused */
	bool mem_given;	     /* --mem: must equal the snapshot's size */
	const char *dir;
	bool eager;	       /* --eager: every page read before the guest runs */
	bool check_hash;       /* --check-hash: memory against the snapshot's memory-hash */
	bool no_background;    /* --no-background: lazy pages load on touch only */
	unsigned record_ws_ms; /* --record-ws MS: write DIR/working-set (0: not) */
	bool no_prefetch_ws;   /* --no-prefetch-ws: DIR/working-set left unused */
	unsigned count;	       /* fork-from's --count N: VMs sharing the snapshot; 0 for restore */
};

/* vmm stat|pause|resume|stop --control PATH, vmm snapshot --control PATH --out DIR */
struct ctl_opts {
	const char *cmd;
	const char *control;
	const char *out;  /* snapshot's --out DIR; NULL for the others */
	bool hash_memory; /* snapshot's --hash-memory */
	unsigned count;	  /* fork's --count N (default 1); 0 for the others */
};

struct dtb_opts {
	uint64_t mem_bytes;
	const char *cmdline;
	const char *output;
	bool services;
};

/* "64M" -> 67108864. K, M, G, T suffixes (powers of 1024), either case. */
int cli_parse_size(const char *opt, const char *s, uint64_t *out);
/* Guest RAM size: a page multiple in [CLI_MIN_MEM, GUEST_RAM_MAX_SIZE]. */
int cli_parse_mem(const char *s, uint64_t *out);
int cli_parse_uint(const char *opt, const char *s, unsigned max, unsigned *out);

/* argv[0] is the subcommand name ("run"). 0, 1 for --help, or -EINVAL. */
int cli_parse_run(int argc, char **argv, struct run_opts *o);
int cli_parse_dtb(int argc, char **argv, struct dtb_opts *o);
int cli_parse_restore(int argc, char **argv, struct restore_opts *o);
int cli_parse_ctl(int argc, char **argv, struct ctl_opts *o);

/* -EINVAL, naming opt, if path names the same file as one of inputs (a
 * NULL-terminated list), compared by device and inode so that links
 * count; a path or input that does not exist yet names nothing. For the
 * files a run writes (--stats-json, --swap). */
int cli_check_not_input(const char *opt, const char *path, const char *const *inputs);

void cli_usage(FILE *f);

#endif
