/* log: the agent's log lines on stderr, "time level [area] message".
 * The level is process-wide state (agent/ is where such state lives). */
#ifndef TROUPE_LOG_H
#define TROUPE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level l);
/* Parses "error|warn|info|debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
void log_msg(enum log_level l, const char *area, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line per burst of an event that comes in floods (refused
 * connections): the first event is logged at once, the next ones at most
 * once every LOG_BURST_MS, with the count of those not logged between. */
#define LOG_BURST_MS 30000
struct log_burst {
    unsigned long long last_ms; /* when the last line was written; 0: never */
    unsigned long long held;    /* events since that line */
};
/* Counts an event at now_ms (any monotonic clock); returns 1 when it is to
 * be logged, with *held the events not logged since the last line. */
int log_burst_due(struct log_burst *b, unsigned long long now_ms, unsigned long long *held);

#define log_error(area, ...) log_msg(LOG_ERROR, area, __VA_ARGS__)
#define log_warn(area, ...)  log_msg(LOG_WARN, area, __VA_ARGS__)
#define log_info(area, ...)  log_msg(LOG_INFO, area, __VA_ARGS__)
#define log_debug(area, ...) log_msg(LOG_DEBUG, area, __VA_ARGS__)

#endif
