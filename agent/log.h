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

#define log_error(area, ...) log_msg(LOG_ERROR, area, __VA_ARGS__)
#define log_warn(area, ...)  log_msg(LOG_WARN, area, __VA_ARGS__)
#define log_info(area, ...)  log_msg(LOG_INFO, area, __VA_ARGS__)
#define log_debug(area, ...) log_msg(LOG_DEBUG, area, __VA_ARGS__)

#endif
