/* nDPI glue with the real libndpi: protocols detected from crafted flows
 * (DNS, HTTP on a port nDPI cannot guess), the packet limit, guessing, pool
 * exhaustion counted, and slots released at flow end. */
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "net/decode.h"
#include "net/flow.h"
#include "net/ndpi.h"
#include "pktbuild.h"

/* Frame -> decoded packet; the frame must outlive the packet's use. */
static ef_packet_t decode(const pb_frame_t *f, uint64_t ts)
{
    ef_packet_t p;
    ck_assert_int_eq(ef_decode(EF_DLT_EN10MB, f->data, (uint32_t)f->len, (uint32_t)f->len, ts, &p),
                     EF_DEC_OK);
    return p;
}

static int feed(ef_ndpi_t *n, ef_ndpi_flow_t *h, pb_flow_t *fl, int dir, uint8_t flags,
                const void *payload, size_t len, uint64_t ts)
{
    pb_frame_t *f = malloc(sizeof *f);
    ck_assert_int_gt(pb_flow_frame(f, PB_DLT_EN10MB, fl, dir, flags, payload, len), 0);
    ef_packet_t p = decode(f, ts);
    int r = ef_ndpi_packet(n, h, &p);
    free(f);
    return r;
}

static ef_ndpi_t *ndpi(uint32_t pool, uint32_t max_packets, int guess)
{
    ef_ndpi_config_t cfg;
    ef_ndpi_config_default(&cfg);
    cfg.pool_flows = pool;
    cfg.max_packets = max_packets;
    cfg.guess = guess;
    ef_err_t err;
    ef_ndpi_t *n = ef_ndpi_new(&cfg, &err);
    ck_assert_msg(n != NULL, "%s", err.msg);
    return n;
}

static const uint8_t dns_query[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01, 0x00, 0x01};
static const uint8_t dns_response[] = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01, 0x00, 0x01,
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 93, 184, 216, 34};

START_TEST(detects_dns_from_a_query_and_response)
{
    ef_ndpi_t *n = ndpi(8, 20, 0);
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "192.0.2.10", 41000, "192.0.2.53", 53);
    ef_ndpi_flow_t h = {0};
    feed(n, &h, &fl, PB_C2S, 0, dns_query, sizeof dns_query, 1000000);
    int r = feed(n, &h, &fl, PB_S2C, 0, dns_response, sizeof dns_response, 1001000);
    if (r) /* nDPI may want more; the flow's end settles it */
        ef_ndpi_flow_end(n, &h);
    ck_assert_uint_eq(h.state, EF_NDPI_DONE);
    ck_assert_uint_eq(h.guessed, 0);
    ck_assert_uint_eq(h.slot, 0);
    char name[64];
    ck_assert_str_eq(ef_ndpi_flow_name(n, &h, name, sizeof name), "DNS");
    const ef_ndpi_stats_t *st = ef_ndpi_stats(n);
    ck_assert_uint_eq(st->detected, 1);
    ck_assert_uint_eq(st->in_use, 0);
    ck_assert_uint_eq(st->flows, 1);
    ck_assert_uint_le(h.packets, 2);
    ck_assert_uint_eq(st->packets, h.packets);
    ef_ndpi_free(n);
}
END_TEST

START_TEST(detects_http_on_an_unguessable_port)
{
    static const char get[] = "GET /index.html HTTP/1.1\r\nHost: www.example.org\r\n"
                              "User-Agent: earlyflow-test\r\nAccept: */*\r\n\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                               "Content-Length: 5\r\n\r\nhello";
    ef_ndpi_t *n = ndpi(8, 20, 0);
    pb_flow_t fl;
    pb_flow_init(&fl, 6, "198.51.100.7", 50123, "203.0.113.80", 40123);
    ef_ndpi_flow_t h = {0};
    uint64_t t = 5000000;
    ck_assert_int_eq(feed(n, &h, &fl, PB_C2S, PB_SYN, NULL, 0, t += 100), 1);
    ck_assert_int_eq(feed(n, &h, &fl, PB_S2C, PB_SYN | PB_ACK, NULL, 0, t += 100), 1);
    ck_assert_int_eq(feed(n, &h, &fl, PB_C2S, PB_ACK, NULL, 0, t += 100), 1);
    ck_assert_uint_eq(h.state, EF_NDPI_RUNNING);
    feed(n, &h, &fl, PB_C2S, PB_PSH | PB_ACK, get, sizeof get - 1, t += 100);
    if (h.state == EF_NDPI_RUNNING)
        feed(n, &h, &fl, PB_S2C, PB_PSH | PB_ACK, resp, sizeof resp - 1, t += 100);
    ef_ndpi_flow_end(n, &h);
    char name[64];
    ck_assert_str_eq(ef_ndpi_flow_name(n, &h, name, sizeof name), "HTTP");
    ck_assert_uint_eq(h.guessed, 0);
    ck_assert_uint_eq(ef_ndpi_stats(n)->detected, 1);
    /* a short buffer is cut, still terminated */
    ck_assert_str_eq(ef_ndpi_flow_name(n, &h, name, 3), "HT");
    ef_ndpi_free(n);
}
END_TEST

START_TEST(packet_limit_and_guessing)
{
    /* (binary junk such as de ad be ef ... matches nDPI's AmazonVideo) */
    static const uint8_t junk[] = "qwertyuiopasdfg";
    ef_ndpi_t *n = ndpi(8, 3, 0);
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "10.9.9.1", 40001, "10.9.9.2", 40002);
    ef_ndpi_flow_t h = {0};
    ck_assert_int_eq(feed(n, &h, &fl, PB_C2S, 0, junk, sizeof junk, 1000), 1);
    ck_assert_int_eq(feed(n, &h, &fl, PB_S2C, 0, junk, sizeof junk, 2000), 1);
    ck_assert_int_eq(feed(n, &h, &fl, PB_C2S, 0, junk, sizeof junk, 3000), 0);
    ck_assert_uint_eq(h.state, EF_NDPI_DONE);
    ck_assert_uint_eq(h.packets, 3);
    ck_assert_int_eq(feed(n, &h, &fl, PB_C2S, 0, junk, sizeof junk, 4000), 0);
    ck_assert_uint_eq(h.packets, 3);
    char name[64];
    ck_assert_str_eq(ef_ndpi_flow_name(n, &h, name, sizeof name), "Unknown");
    ck_assert_uint_eq(ef_ndpi_stats(n)->unknown, 1);
    ck_assert_uint_eq(ef_ndpi_stats(n)->in_use, 0);
    ef_ndpi_flow_end(n, &h); /* idempotent */
    ck_assert_uint_eq(ef_ndpi_stats(n)->unknown, 1);
    ef_ndpi_free(n);

    /* with guessing, an undetected TCP flow to port 443 gives up as TLS */
    n = ndpi(8, 2, 1);
    pb_flow_init(&fl, 6, "10.9.9.1", 40001, "10.9.9.2", 443);
    memset(&h, 0, sizeof h);
    feed(n, &h, &fl, PB_C2S, PB_SYN, NULL, 0, 1000);
    ef_ndpi_flow_end(n, &h);
    ck_assert_uint_eq(h.state, EF_NDPI_DONE);
    ck_assert_uint_eq(h.guessed, 1);
    ck_assert_str_eq(ef_ndpi_flow_name(n, &h, name, sizeof name), "TLS");
    ck_assert_uint_eq(ef_ndpi_stats(n)->guessed, 1);
    ef_ndpi_free(n);
}
END_TEST

START_TEST(pool_exhaustion_is_counted_and_slots_come_back)
{
    static const uint8_t junk[] = "zxcvbnm,";
    ef_ndpi_t *n = ndpi(2, 20, 0);
    pb_flow_t fl[4];
    ef_ndpi_flow_t h[4];
    memset(h, 0, sizeof h);
    for (int i = 0; i < 4; i++)
        pb_flow_init(&fl[i], 17, "10.0.0.1", (uint16_t)(30000 + i), "10.0.0.2", 30999);
    ck_assert_int_eq(feed(n, &h[0], &fl[0], PB_C2S, 0, junk, 8, 1), 1);
    ck_assert_int_eq(feed(n, &h[1], &fl[1], PB_C2S, 0, junk, 8, 2), 1);
    ck_assert_int_eq(feed(n, &h[2], &fl[2], PB_C2S, 0, junk, 8, 3), 0);
    ck_assert_uint_eq(h[2].state, EF_NDPI_NO_SLOT);
    ck_assert_int_eq(feed(n, &h[2], &fl[2], PB_C2S, 0, junk, 8, 4), 0); /* stays without */
    const ef_ndpi_stats_t *st = ef_ndpi_stats(n);
    ck_assert_uint_eq(st->no_slot, 1);
    ck_assert_uint_eq(st->in_use, 2);
    ck_assert_uint_eq(st->peak_in_use, 2);
    char name[64];
    ck_assert_str_eq(ef_ndpi_flow_name(n, &h[2], name, sizeof name), "Unknown");
    ef_ndpi_flow_end(n, &h[0]);
    ck_assert_uint_eq(st->in_use, 1);
    ck_assert_int_eq(feed(n, &h[3], &fl[3], PB_C2S, 0, junk, 8, 5), 1);
    ck_assert_uint_eq(h[3].state, EF_NDPI_RUNNING);
    ck_assert_uint_eq(st->flows, 3);
    ef_ndpi_flow_end(n, &h[2]); /* nothing to release */
    ck_assert_uint_eq(st->in_use, 2);
    /* freeing with slots held releases them (valgrind/ASan: no leak) */
    ef_ndpi_free(n);
}
END_TEST

START_TEST(bad_config_is_refused)
{
    ef_ndpi_config_t cfg;
    ef_ndpi_config_default(&cfg);
    ck_assert_uint_eq(cfg.pool_flows, 16384);
    ck_assert_uint_eq(cfg.max_packets, 20);
    ck_assert_int_eq(cfg.guess, 1);
    ef_err_t err;
    cfg.pool_flows = 0;
    ck_assert_ptr_null(ef_ndpi_new(&cfg, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "pool_flows 0 out of range"));
    cfg.pool_flows = 1;
    cfg.max_packets = 256;
    ck_assert_ptr_null(ef_ndpi_new(&cfg, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "max_packets 256 out of range"));
}
END_TEST

/* The glue inside a flow table: the handle lives in ext storage and the
 * end callback releases the slot. */
typedef struct ctx {
    ef_ndpi_t *n;
    char names[8][64];
    int ended;
} ctx_t;

static void end_cb(void *user, ef_flow_t *f)
{
    ctx_t *c = user;
    ef_ndpi_flow_t *h = ef_flow_ext(f);
    ef_ndpi_flow_end(c->n, h);
    if (c->ended < 8)
        ef_ndpi_flow_name(c->n, h, c->names[c->ended], sizeof c->names[0]);
    c->ended++;
}

START_TEST(inside_a_flow_table)
{
    ctx_t c = {.n = ndpi(16, 10, 0)};
    ef_flow_config_t cfg;
    ef_flow_config_default(&cfg);
    cfg.ext_size = sizeof(ef_ndpi_flow_t);
    ef_flow_table_t *t = ef_flow_table_new(&cfg, end_cb, &c, NULL);
    pb_flow_t fl;
    pb_flow_init(&fl, 17, "2001:db8::10", 41000, "2001:db8::53", 53);
    pb_frame_t *f = malloc(sizeof *f);
    for (int i = 0; i < 2; i++) {
        pb_flow_frame(f, PB_DLT_EN10MB, &fl, i, 0, i ? dns_response : dns_query,
                      i ? sizeof dns_response : sizeof dns_query);
        ef_packet_t p = decode(f, 100 + (uint64_t)i);
        ef_flow_hit_t hit;
        ck_assert_int_eq(ef_flow_table_track(t, &p, &hit), 0);
        ef_ndpi_packet(c.n, ef_flow_ext(hit.flow), &p);
    }
    ef_flow_table_flush(t);
    ck_assert_int_eq(c.ended, 1);
    ck_assert_str_eq(c.names[0], "DNS");
    ck_assert_uint_eq(ef_ndpi_stats(c.n)->in_use, 0);
    free(f);
    ef_flow_table_free(t);
    ef_ndpi_free(c.n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ndpi");
    TCase *tc = tcase_create("ndpi");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, detects_dns_from_a_query_and_response);
    tcase_add_test(tc, detects_http_on_an_unguessable_port);
    tcase_add_test(tc, packet_limit_and_guessing);
    tcase_add_test(tc, pool_exhaustion_is_counted_and_slots_come_back);
    tcase_add_test(tc, bad_config_is_refused);
    tcase_add_test(tc, inside_a_flow_table);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
