/* bench/exit_rtt.c: the floor under every port or fault the VMM handles.
 *
 * A bare KVM VM with one page of RAM runs a flat 32-bit guest of four
 * bytes: `out %al,(%dx); loop .-1; hlt`. Each OUT exits to this program,
 * which does nothing but enter the guest again, so the time per exit is
 * the user-space exit round trip with no VMM work in it. Several runs of
 * N exits each; the median is printed. The same loop with a NOP for the
 * OUT, which never leaves KVM, gives the guest's own share of each trip
 * (large on PVM, which emulates CPL0 code one instruction at a time).
 *
 * usage: exit_rtt [-n ITERATIONS] [-r RUNS] [-d /dev/kvm]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm.h"
#include "vcpu.h"

#define RTT_MEM_SIZE 0x10000UL /* one 64 KiB slot at GPA 0 */
#define RTT_OUT_GPA  0x1000UL
#define RTT_NOP_GPA  0x2000UL
#define RTT_PORT     0x80 /* POST port: any port does, nothing listens */
#define RTT_MAX_RUNS 101

/* out %al,(%dx); loop .-1; hlt -- ECX counts the exits. */
static const uint8_t rtt_out_loop[] = {0xee, 0xe2, 0xfd, 0xf4};
/* nop; loop .-1; hlt -- the same loop without exits. */
static const uint8_t rtt_nop_loop[] = {0x90, 0xe2, 0xfd, 0xf4};

/* The KVM plumbing is the VMM's own (vmm/kvm.h, vmm/vcpu.h): the floor is
 * measured on the same set-up the VMM uses, flat 32-bit protected mode. */
struct rtt_vm {
	struct kvm kvm;
	int vm_fd;
	struct vcpu vcpu;
	uint8_t *mem;
};

static int rtt_fail(const char *what)
{
	int err = errno;

	fprintf(stderr, "exit_rtt: %s: %s\n", what, strerror(err));
	return -err;
}

static int rtt_add_memory(struct rtt_vm *v)
{
	struct kvm_userspace_memory_region r = {
	    .slot = 0, .guest_phys_addr = 0, .memory_size = RTT_MEM_SIZE};

	v->mem =
	    mmap(NULL, RTT_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED) {
		v->mem = NULL;
		return rtt_fail("mmap guest memory");
	}
	memcpy(v->mem + RTT_OUT_GPA, rtt_out_loop, sizeof(rtt_out_loop));
	memcpy(v->mem + RTT_NOP_GPA, rtt_nop_loop, sizeof(rtt_nop_loop));
	r.userspace_addr = (uintptr_t)v->mem;
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return rtt_fail("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

/* rip, and the loop's count in ECX and port in EDX; vcpu_reset_pvh set the rest. */
static int rtt_set_regs(struct rtt_vm *v, uint64_t rip, uint32_t iterations)
{
	struct kvm_regs regs = {.rip = rip, .rcx = iterations, .rdx = RTT_PORT, .rflags = 0x2};

	if (ioctl(v->vcpu.fd, KVM_SET_REGS, &regs) < 0)
		return rtt_fail("KVM_SET_REGS");
	return 0;
}

static int rtt_create(struct rtt_vm *v, const char *path)
{
	int ret;

	*v = (struct rtt_vm){.vm_fd = -1, .vcpu = {.fd = -1, .stats_fd = -1}};
	ret = kvm_open(&v->kvm, path);
	if (ret)
		return ret;
	v->vm_fd = ioctl(v->kvm.fd, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		return rtt_fail("KVM_CREATE_VM");
	ret = rtt_add_memory(v);
	if (!ret)
		ret = vcpu_create(&v->vcpu, &v->kvm, v->vm_fd, 0);
	if (!ret)
		ret = vcpu_reset_pvh(&v->vcpu, RTT_OUT_GPA, 0);
	return ret;
}

static void rtt_destroy(struct rtt_vm *v)
{
	vcpu_destroy(&v->vcpu);
	if (v->mem)
		munmap(v->mem, RTT_MEM_SIZE);
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	kvm_close(&v->kvm);
}

static uint64_t rtt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One KVM_RUN: 1 for an OUT to our port, 0 for HLT, -errno otherwise. */
static int rtt_enter(struct rtt_vm *v)
{
	struct kvm_run *r = v->vcpu.run;

	/* A signal cuts KVM_RUN short before the guest ran: just go back in. */
	while (ioctl(v->vcpu.fd, KVM_RUN, 0) < 0)
		if (errno != EINTR)
			return rtt_fail("KVM_RUN");
	if (r->exit_reason == KVM_EXIT_HLT)
		return 0;
	if (r->exit_reason == KVM_EXIT_IO && r->io.direction == KVM_EXIT_IO_OUT &&
	    r->io.port == RTT_PORT)
		return 1;
	if (r->exit_reason == KVM_EXIT_IO)
		fprintf(stderr, "exit_rtt: guest %s port %#x, expected an OUT to %#x\n",
			r->io.direction == KVM_EXIT_IO_OUT ? "wrote" : "read", r->io.port,
			RTT_PORT);
	else
		fprintf(stderr, "exit_rtt: unexpected exit reason %u (expected IO or HLT)\n",
			r->exit_reason);
	return -EIO;
}

/* Time the N round trips from the first OUT exit to the HLT exit. The first
 * entry is left out: it pays for loading the vCPU, not for an exit. */
static int rtt_time_exits(struct rtt_vm *v, uint32_t iterations, double *ns_per_exit)
{
	uint64_t t0, exits = 0;
	int ret;

	ret = rtt_set_regs(v, RTT_OUT_GPA, iterations);
	if (ret)
		return ret;
	ret = rtt_enter(v);
	if (ret <= 0)
		return ret ? ret : -EIO;
	t0 = rtt_now_ns();
	while ((ret = rtt_enter(v)) == 1)
		exits++;
	if (ret < 0)
		return ret;
	if (exits != iterations - 1) {
		fprintf(stderr,
			"exit_rtt: saw %" PRIu64 " OUT exits after the first, expected %u\n", exits,
			iterations - 1);
		return -EIO;
	}
	*ns_per_exit = (double)(rtt_now_ns() - t0) / iterations;
	return 0;
}

/* Time the loop without exits: one KVM_RUN from start to HLT. */
static int rtt_time_loop(struct rtt_vm *v, uint32_t iterations, double *ns_per_iteration)
{
	uint64_t t0;
	int ret;

	ret = rtt_set_regs(v, RTT_NOP_GPA, iterations);
	if (ret)
		return ret;
	t0 = rtt_now_ns();
	ret = rtt_enter(v);
	if (ret)
		return ret < 0 ? ret : -EIO;
	*ns_per_iteration = (double)(rtt_now_ns() - t0) / iterations;
	return 0;
}

static int rtt_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v. */
static double rtt_median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), rtt_cmp_double);
	return (v[(n - 1) / 2] + v[n / 2]) / 2;
}

static int rtt_parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "exit_rtt: %s %s: expected an integer in [%u, %u]\n", opt, s, min,
			max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void rtt_usage(FILE *f)
{
	fprintf(f, "usage: exit_rtt [-n ITERATIONS] [-r RUNS] [-d KVM_DEVICE]\n"
		   "Times KVM's exit to user space and back (one OUT per exit).\n"
		   "Defaults: -n 10000 -r 7 -d /dev/kvm\n");
}

int main(int argc, char **argv)
{
	unsigned iterations = 10000, runs = 7;
	const char *dev = "/dev/kvm";
	double exit_ns[RTT_MAX_RUNS], loop_ns[RTT_MAX_RUNS], exit_med, loop_med;
	struct rtt_vm v;
	unsigned i;
	int c, ret = 0;

	while ((c = getopt(argc, argv, "n:r:d:h")) != -1) {
		switch (c) {
		case 'n':
			ret = rtt_parse_uint("-n", optarg, 2, 1u << 30, &iterations);
			break;
		case 'r':
			ret = rtt_parse_uint("-r", optarg, 1, RTT_MAX_RUNS, &runs);
			break;
		case 'd':
			dev = optarg;
			break;
		case 'h':
			rtt_usage(stdout);
			return 0;
		default:
			rtt_usage(stderr);
			return 2;
		}
		if (ret)
			return 2;
	}
	if (optind != argc) {
		rtt_usage(stderr);
		return 2;
	}

	ret = rtt_create(&v, dev);
	for (i = 0; !ret && i < runs; i++) {
		ret = rtt_time_exits(&v, iterations, &exit_ns[i]);
		if (!ret)
			ret = rtt_time_loop(&v, iterations, &loop_ns[i]);
	}
	rtt_destroy(&v);
	if (ret)
		return 1;

	/* rtt_median() sorts, so call it before reading the extremes. */
	exit_med = rtt_median(exit_ns, runs);
	loop_med = rtt_median(loop_ns, runs);
	printf("exit_rtt ns_per_exit=%.0f runs=%u iterations=%u min=%.0f max=%.0f "
	       "guest_loop_ns=%.0f\n",
	       exit_med, runs, iterations, exit_ns[0], exit_ns[runs - 1], loop_med);
	return 0;
}
