/* json_field: the field checks core's JSON document parsers share (see
 * json_field.h). */
#include "core/json_field.h"

#include <ctype.h>
#include <string.h>

int jfield_only_keys(json_t *obj, const char *where, const char *const *allowed, struct err *e)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        size_t i;
        for (i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0)
                break;
        if (!allowed[i])
            return err_set(e, -EINVAL, "%s%s%s: unknown field", where, *where ? "." : "", k);
    }
    return 0;
}

int jfield_str(json_t *v, const char *field, size_t max, const char **out, struct err *e)
{
    size_t n;

    if (!json_is_string(v))
        return err_set(e, -EINVAL, "%s: expected a string", field);
    n = json_string_length(v);
    *out = json_string_value(v);
    if (n == 0)
        return err_set(e, -EINVAL, "%s: must not be empty", field);
    if (n > max)
        return err_set(e, -EINVAL, "%s: longer than %zu bytes", field, max);
    if (strlen(*out) != n)
        return err_set(e, -EINVAL, "%s: contains a NUL byte", field);
    return 0;
}

int jfield_copy(json_t *v, const char *field, char *dst, size_t cap, struct err *e)
{
    const char *s;
    int rc = jfield_str(v, field, cap - 1, &s, e);

    if (rc == 0)
        memcpy(dst, s, strlen(s) + 1);
    return rc;
}

int jfield_u64(json_t *v, const char *field, uint64_t lo, uint64_t hi, uint64_t *out, struct err *e)
{
    json_int_t n;

    if (!json_is_integer(v))
        return err_set(e, -EINVAL, "%s: expected an integer", field);
    n = json_integer_value(v);
    if (n < 0 || (uint64_t)n < lo || (uint64_t)n > hi)
        return err_set(e, -EINVAL, "%s: %lld is out of range %llu..%llu", field, (long long)n,
                       (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)n;
    return 0;
}

int jfield_u32(json_t *v, const char *field, uint32_t lo, uint32_t hi, uint32_t *out, struct err *e)
{
    uint64_t n = 0;
    int rc = jfield_u64(v, field, lo, hi, &n, e);

    if (rc == 0)
        *out = (uint32_t)n;
    return rc;
}

int jfield_name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'))
            return 0;
    return 1;
}
