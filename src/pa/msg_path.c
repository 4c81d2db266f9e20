#include "pa/msg_path.h"

#include <stdarg.h>
#include <stdio.h>

void msg_path_init(struct msg_path *p, const char *root, struct ft_error *err)
{
    p->root = root;
    p->path[0] = '\0';
    p->path_len = 0;
    p->err = err;
}

size_t msg_path_push(struct msg_path *p, const char *name, size_t index, bool indexed)
{
    size_t saved = p->path_len;
    const char *dot = saved > 0 && name[0] != '\0' ? "." : "";
    char *at = p->path + saved;
    size_t cap = MSG_PATH_CAP - saved;
    int n = indexed ? snprintf(at, cap, "%s%s[%zu]", dot, name, index)
                    : snprintf(at, cap, "%s%s", dot, name);
    size_t room = cap - 1;
    p->path_len = saved + (n < 0 ? 0 : (size_t)n > room ? room : (size_t)n);
    return saved;
}

void msg_path_pop(struct msg_path *p, size_t saved)
{
    p->path_len = saved;
    p->path[saved] = '\0';
}

int msg_path_fail(struct msg_path *p, enum ft_code code, const char *fmt, ...)
{
    char why[FT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (p->path_len == 0)
        return ft_fail(p->err, code, "%s: %s", p->root, why);
    return ft_fail(p->err, code, "%s: %s: %s", p->root, p->path, why);
}
