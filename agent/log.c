/* log: timestamped log lines on stderr (see log.h). */
#include "agent/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum log_level level = LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level l)
{
    level = l;
}

int log_burst_due(struct log_burst *b, unsigned long long now_ms, unsigned long long *held)
{
    if (b->last_ms && now_ms - b->last_ms < LOG_BURST_MS) {
        b->held++;
        return 0;
    }
    *held = b->held;
    b->held = 0;
    b->last_ms = now_ms ? now_ms : 1;
    return 1;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_msg(enum log_level l, const char *area, const char *fmt, ...)
{
    char line[1024], ts[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (l > level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %-5s [%s] %s\n", ts, (long)(tv.tv_usec / 1000), names[l], area,
            line);
}
