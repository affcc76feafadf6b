/* Terminal progress bar; see progress.h. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "util/clock.h"

#define BAR_WIDTH 20
#define REDRAW_NS 100000000ull /* at most 10 redraws per second */

struct ef_progress {
    FILE *out;
    int enabled;
    int tty;              /* erase with an escape sequence, else pad with spaces */
    uint64_t total, done, packets;
    uint64_t start_ns, last_draw_ns;
    size_t last_len;      /* length of the previous line, for padding */
    char title[32];
    char item[96];
};


ef_progress_t *ef_progress_new(FILE *out, const char *title, uint64_t total_bytes, int force,
                               uint64_t min_bytes)
{
    ef_progress_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->out = out;
    p->tty = isatty(fileno(out));
    p->enabled = force || (p->tty && total_bytes >= min_bytes);
    p->total = total_bytes;
    p->start_ns = ef_mono_ns();
    snprintf(p->title, sizeof p->title, "%s", title ? title : "");
    return p;
}

int ef_progress_enabled(const ef_progress_t *p)
{
    return p && p->enabled;
}

void ef_progress_set_item(ef_progress_t *p, const char *item)
{
    if (p)
        snprintf(p->item, sizeof p->item, "%s", item ? item : "");
}

/* "1:02:03" or "2:03". */
static void fmt_duration(char *buf, size_t cap, double s)
{
    if (s < 0 || s > 359999)
        s = 359999;
    unsigned t = (unsigned)s;
    if (t >= 3600)
        snprintf(buf, cap, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%u:%02u", t / 60, t % 60);
}

static void draw(ef_progress_t *p, uint64_t t)
{
    char line[256];
    double el = (double)(t - p->start_ns) / 1e9;
    double rate = el > 0 ? (double)p->packets / el : 0;
    int n;
    if (p->total) {
        double frac = (double)p->done / (double)p->total;
        if (frac > 1)
            frac = 1;
        char bar[BAR_WIDTH + 1], eta[16];
        int fill = (int)(frac * BAR_WIDTH);
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
        bar[BAR_WIDTH] = '\0';
        fmt_duration(eta, sizeof eta, frac > 0 ? el / frac - el : 0);
        n = snprintf(line, sizeof line, "%s [%s] %3d%%  %.1f/%.1f MB  %.2f Mpkt/s  ETA %s  %s",
                     p->title, bar, (int)(frac * 100), (double)p->done / 1e6,
                     (double)p->total / 1e6, rate / 1e6, eta, p->item);
    } else {
        n = snprintf(line, sizeof line, "%s %.1f MB  %llu packets  %.2f Mpkt/s  %s", p->title,
                     (double)p->done / 1e6, (unsigned long long)p->packets, rate / 1e6, p->item);
    }
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
    /* A line wider than the terminal wraps and "\r" no longer rewinds it:
     * cut it (the item name comes last, so that is what gets shortened). */
    struct winsize ws;
    if (p->tty && ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
        len >= ws.ws_col) {
        len = ws.ws_col - 1u;
        line[len] = '\0';
    }
    if (p->tty)
        fprintf(p->out, "\r%s\033[K", line);
    else
        fprintf(p->out, "\r%s%*s", line, p->last_len > len ? (int)(p->last_len - len) : 0, "");
    fflush(p->out);
    p->last_len = len;
    p->last_draw_ns = t;
}

void ef_progress_update(ef_progress_t *p, uint64_t done_bytes, uint64_t packets)
{
    if (!p || !p->enabled)
        return;
    p->done = done_bytes;
    p->packets = packets;
    uint64_t t = ef_mono_ns();
    if (t - p->last_draw_ns >= REDRAW_NS)
        draw(p, t);
}

void ef_progress_finish(ef_progress_t *p)
{
    if (!p)
        return;
    if (p->enabled) {
        if (p->total)
            p->done = p->total;
        draw(p, ef_mono_ns());
        fputc('\n', p->out);
        fflush(p->out);
    }
    free(p);
}

void ef_progress_abandon(ef_progress_t *p)
{
    if (!p)
        return;
    if (p->enabled && p->last_len) {
        if (p->tty)
            fputs("\r\033[K", p->out);
        else
            fputc('\n', p->out);
        fflush(p->out);
    }
    free(p);
}
