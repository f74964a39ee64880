/* coldstart_srv: the smallest HTTP server bench/coldstart.sh starts from
 * zero. `coldstart_srv PORT` binds 0.0.0.0:PORT itself; started with
 * LISTEN_FDS=1 and LISTEN_PID its own pid (systemd's convention, as the
 * agent does for "socket_activation": true) it serves on fd 3 instead.
 * Each connection gets one "200 ok" and is closed. Built by the bench
 * with the system's cc, statically so that a container runs it too. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listener(const char *port)
{
    const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    int fd, one = 1;

    if (fds && pid && strcmp(fds, "1") == 0 && atol(pid) == (long)getpid())
        return 3;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        perror("coldstart_srv: listen");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    static const char answer[] = "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n"
                                 "connection: close\r\n\r\nok\n";
    char buf[4096];
    int lfd;

    if (argc < 2) {
        fprintf(stderr, "usage: coldstart_srv PORT\n");
        return 2;
    }
    lfd = listener(argv[1]);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        if (read(c, buf, sizeof(buf)) > 0 && write(c, answer, sizeof(answer) - 1) < 0)
            perror("coldstart_srv: write");
        close(c);
    }
}
