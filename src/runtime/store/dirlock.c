/* dirlock.c — DIR/.nnrun.lock (see dirlock.h). */
#include "runtime/store/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The locks this process holds (by canonical path): a second claim of the same directory
 * (a sweep's cell, then the run in it) must not conflict with the first. */
typedef struct {
    char *real;
    int fd;
} held_lock;

static held_lock held[64];
static int nheld;

static int find_held(const char *real)
{
    for (int i = 0; i < nheld; i++)
        if (!strcmp(held[i].real, real)) return i;
    return -1;
}

/* The pid the holder wrote, or 0. */
static long read_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = 0;
    long pid = strtol(buf, NULL, 10);
    return pid > 0 ? pid : 0;
}

int nn_dirlock(const char *dir, int shared, long *holder)
{
    char real[PATH_MAX], path[PATH_MAX + 32];
    *holder = 0;
    if (!realpath(dir, real)) return -1;
    if (find_held(real) >= 0) return 0;
    if (nheld == (int)(sizeof held / sizeof *held)) {
        errno = EMFILE;
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", real, NN_DIRLOCK_FILE);
    /* close-on-exec: a worker this process starts takes its own locks */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        int err = errno;
        if (err == EWOULDBLOCK) *holder = read_holder(fd);
        close(fd);
        errno = err;
        return err == EWOULDBLOCK ? 1 : -1;
    }
    /* the holder's pid, for the message of whoever comes second (a shared holder writes
     * its own too: one of them is named) */
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the lock holds all the same; only the name in a message is lost */
    }
    held[nheld].real = strdup(real);
    if (!held[nheld].real) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    held[nheld++].fd = fd;
    return 0;
}

void nn_dirlock_release(const char *dir)
{
    char real[PATH_MAX];
    int i = realpath(dir, real) ? find_held(real) : -1;
    if (i < 0) return;
    close(held[i].fd); /* closing the only descriptor drops the flock */
    free(held[i].real);
    held[i] = held[--nheld];
}

int nn_dirlock_claim(const char *dir, int shared, const char *what, nn_mark at, nn_diag *d)
{
    long pid;
    int rc = nn_dirlock(dir, shared, &pid);
    if (rc == 0) return 0;
    if (rc > 0) {
        char who[48] = "another process";
        if (pid > 0) snprintf(who, sizeof who, "pid %ld", pid);
        nn_diag_error(d, at,
                      "%s '%s' is in use by another nnrun (%s): a directory has one "
                      "writer at a time",
                      what, dir, who);
        nn_diag_note(d,
                     "wait for that run to end, or choose another directory; nothing in "
                     "'%s' was changed",
                     dir);
    } else {
        nn_diag_error(d, at, "cannot lock %s '%s' (%s/%s): %s", what, dir, dir, NN_DIRLOCK_FILE,
                      strerror(errno));
    }
    return -1;
}
