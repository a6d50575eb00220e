/* rusage_run -- run a command, report its wall time and peak RSS.
 *
 *   rusage_run [-o OUT] [--stdout PATH] [--stdin PATH] -- cmd args...
 *
 * Prints one line "wall_s=1.234 maxrss_kb=12345 exit=0 user_s=1.100 sys_s=0.120" to
 * OUT (appended; "-" or absent: stderr). exit is the child's exit status, 128+N when
 * signal N killed it, 127 when it could not be executed. rusage_run exits with that
 * same status so callers can tell a failed run from a slow one.
 *
 * Why not GNU time: it is not installed everywhere, and its output format differs
 * between versions. wait4() gives the child's own ru_maxrss (kilobytes on Linux), which
 * is the number the benchmark asserts on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: rusage_run [-o OUT] [--stdout PATH] [--stdin PATH] -- cmd args...\n");
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Redirect fd to path in the child; errors are reported by the child itself and end
 * it with 127, like a failed exec. */
static void redirect(int fd, const char *path, int flags)
{
    int f = open(path, flags, 0644);
    if (f < 0) {
        fprintf(stderr, "rusage_run: %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    if (f != fd) {
        if (dup2(f, fd) < 0) {
            fprintf(stderr, "rusage_run: dup2: %s\n", strerror(errno));
            _exit(127);
        }
        close(f);
    }
}

int main(int argc, char **argv)
{
    const char *out = NULL, *out_stdout = NULL, *in_stdin = NULL;
    int i = 1;

    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "-o") == 0)
            out = argv[++i];
        else if (strcmp(argv[i], "--stdout") == 0)
            out_stdout = argv[++i];
        else if (strcmp(argv[i], "--stdin") == 0)
            in_stdin = argv[++i];
        else
            usage();
    }
    if (i >= argc)
        usage();

    /* Open the report file before starting the clock so a bad path fails fast and
     * costs the measured command nothing. */
    FILE *rep = stderr;
    if (out && strcmp(out, "-") != 0) {
        rep = fopen(out, "a");
        if (!rep) {
            fprintf(stderr, "rusage_run: %s: %s\n", out, strerror(errno));
            return 2;
        }
    }

    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "rusage_run: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        if (rep != stderr)
            fclose(rep);
        if (in_stdin)
            redirect(STDIN_FILENO, in_stdin, O_RDONLY);
        if (out_stdout)
            redirect(STDOUT_FILENO, out_stdout, O_WRONLY | O_CREAT | O_TRUNC);
        execvp(argv[i], argv + i);
        fprintf(stderr, "rusage_run: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }

    /* The measured command owns the terminal's signals; we only wait. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);

    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    pid_t w;
    do {
        w = wait4(pid, &status, 0, &ru);
    } while (w < 0 && errno == EINTR);
    double wall = now_s() - t0;
    if (w < 0) {
        fprintf(stderr, "rusage_run: wait4: %s\n", strerror(errno));
        return 2;
    }

    int code;
    if (WIFEXITED(status))
        code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        code = 128 + WTERMSIG(status);
    else
        code = 255;

    fprintf(rep, "wall_s=%.3f maxrss_kb=%ld exit=%d user_s=%.3f sys_s=%.3f\n", wall,
            ru.ru_maxrss, code, tv_s(ru.ru_utime), tv_s(ru.ru_stime));
    if (rep != stderr && fclose(rep) != 0) {
        fprintf(stderr, "rusage_run: %s: %s\n", out, strerror(errno));
        return 2;
    }
    return code;
}
