/* Blocking whole-buffer I/O on a file descriptor, across EINTR and short writes. */
#ifndef FTHARNESS_COMMON_FDIO_H
#define FTHARNESS_COMMON_FDIO_H

#include <stddef.h>

/* Writes all `len` bytes of `data` to `fd`. Returns 0, or -1 with errno set (a write of 0
 * bytes counts as an error, errno unchanged). */
int fd_write_all(int fd, const void *data, size_t len);

#endif
