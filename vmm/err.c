/* vmm/err.c: error reporting, see err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Per thread, so that a VM thread's error is not overwritten by another's. */
static __thread char err_last[1024];
static __thread bool err_quiet;

static void err_vstore(const char *what, const char *fmt, va_list ap)
{
	int n = snprintf(err_last, sizeof(err_last), "%s: ", what);

	if (n < 0 || (size_t)n >= sizeof(err_last))
		n = 0;
	vsnprintf(err_last + n, sizeof(err_last) - n, fmt, ap);
	if (!err_quiet)
		fprintf(stderr, "vmm: %s\n", err_last);
}

int err_input(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vstore(what, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int err_errno(int errnum, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vstore(what, fmt, ap);
	va_end(ap);
	return -errnum;
}

int err_sys(const char *what, const char *call)
{
	int e = errno ? errno : EIO;

	return err_errno(e, what, "%s: %s", call, strerror(e));
}

const char *last_error(void)
{
	return err_last;
}

bool err_set_quiet(bool quiet)
{
	bool was = err_quiet;

	err_quiet = quiet;
	return was;
}

int err_into(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}
