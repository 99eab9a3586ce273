/* vmm-counter [LINES [PERIOD_MS]]: print a line every PERIOD_MS (100) of
 * the guest's monotonic clock, LINES of them (0: forever), then exit 0:
 *   count=N mono_ms=M real_ms=R
 * N counts from 1; M and R are CLOCK_MONOTONIC and CLOCK_REALTIME in ms,
 * so that a reader sees the guest's clocks go on (a snapshot restored,
 * a fork child) with no gap and never back. Each tick also reads the fork
 * identity port: when it changes (this VM is a fork child now), a line
 * "FORK generation=G index=I" comes first. Deadlines are absolute: a late
 * tick is not made up twice. */
#include <stdlib.h>

#include "vmmguest.h"

int vmm_counter(int argc, char **argv)
{
	long lines = argc > 1 ? atol(argv[1]) : 0, period = argc > 2 ? atol(argv[2]) : 100;
	int64_t id = vmmguest_forkid(), now;
	struct timespec next;

	if (period <= 0)
		period = 100;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long n = 1; !lines || n <= lines; n++) {
		next.tv_nsec += period * 1000000L;
		next.tv_sec += next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL))
			;
		now = vmmguest_forkid();
		if (now != id && now >= 0)
			vmmguest_fork_line(now);
		id = now;
		printf("count=%ld mono_ms=%llu real_ms=%llu\n", n,
		       (unsigned long long)vmmguest_ms(CLOCK_MONOTONIC),
		       (unsigned long long)vmmguest_ms(CLOCK_REALTIME));
		fflush(stdout);
	}
	return 0;
}
