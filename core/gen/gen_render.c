/* Packet rendering: a packet descriptor becomes a frame.
 *
 * Layout: [Ethernet] [outer IPv4, protocol 41, for 6in4] IP header,
 * transport header (TCP with the options its side negotiated, UDP, ICMP),
 * a payload prefix (the protocol content a real packet starts with: TLS
 * records, HTTP text, DNS messages, ...) and pseudo-random filler for the
 * rest (encrypted or compressed data looks random).
 *
 * Checksums are correct for the whole packet even when the snap length cuts
 * the frame, as on a real capture. The filler comes from one 64 KiB block
 * whose 16-bit word sums are precomputed, so the checksum of a 1.4 kB
 * payload costs two lookups instead of a pass over the bytes. */
#include <stdarg.h>
#include <stdio.h>

#include "gen/gen_internal.h"
#include "net/decode.h"

/* ------------------------------------------------------------------ */
/* Filler and checksums */

void ef_gen_filler_init(gen_ctx_t *c)
{
    gen_rng_t r;
    gen_rng_seed(&r, c->cfg.seed, 0xf111e5ull);
    size_t n = GEN_FILLER_BYTES + GEN_FILLER_SLACK;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = gen_next(&r);
        for (size_t k = 0; k < 8 && i + k < n; k++)
            c->filler[i + k] = (uint8_t)(x >> (8 * k));
    }
    c->fsum[0] = 0;
    for (size_t w = 0; w < n / 2; w++)
        c->fsum[w + 1] = c->fsum[w] + ((uint32_t)c->filler[2 * w] << 8 | c->filler[2 * w + 1]);
}

static uint64_t sum_bytes(const uint8_t *b, size_t n)
{
    uint64_t s = 0;
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        s += (uint32_t)b[i] << 8 | b[i + 1];
    if (i < n)
        s += (uint32_t)b[i] << 8;
    return s;
}

static uint16_t fold(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)s;
}

/* Sum of filler[fo .. fo+len) as it sits in the packet; odd_start when it
 * begins at an odd offset from the start of the checksummed data. */
static uint64_t filler_sum(const gen_ctx_t *c, uint32_t fo, uint32_t len, int odd_start)
{
    uint64_t s = c->fsum[fo / 2 + len / 2] - c->fsum[fo / 2];
    if (len & 1)
        s += (uint32_t)c->filler[fo + len - 1] << 8;
    if (odd_start) {
        uint16_t v = fold(s);
        s = (uint16_t)((v << 8) | (v >> 8));
    }
    return s;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------------ */
/* Payload prefixes */

typedef struct wbuf {
    uint8_t *b;
    size_t cap, n;
} wbuf_t;

static void wb_put(wbuf_t *w, const void *d, size_t len)
{
    if (w->n < w->cap) {
        size_t k = w->cap - w->n < len ? w->cap - w->n : len;
        memcpy(w->b + w->n, d, k);
    }
    w->n += len;
}

static void wb_u8(wbuf_t *w, uint32_t v)
{
    uint8_t b = (uint8_t)v;
    wb_put(w, &b, 1);
}

static void wb_u16(wbuf_t *w, uint32_t v)
{
    uint8_t b[2];
    put16(b, v);
    wb_put(w, b, 2);
}

static void wb_u32(wbuf_t *w, uint32_t v)
{
    uint8_t b[4];
    put32(b, v);
    wb_put(w, b, 4);
}

static void wb_str(wbuf_t *w, const char *s)
{
    wb_put(w, s, strlen(s));
}

static void wb_fmt(wbuf_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wb_fmt(wbuf_t *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        wb_put(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Bytes derived from a hash (random fields: TLS random, ids, keys). */
static void wb_hashbytes(wbuf_t *w, uint64_t h, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = gen_mix64(h + i);
        uint8_t b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(x >> (8 * k));
        wb_put(w, b, n - i < 8 ? n - i : 8);
    }
}

static uint64_t load_addr_hash(const uint8_t a[16])
{
    uint64_t x = 0, y = 0;
    for (int i = 0; i < 8; i++) {
        x = x << 8 | a[i];
        y = y << 8 | a[8 + i];
    }
    return gen_hash3(x, y, 0x5e7e7ull);
}

/* A host name under the reserved example domains (RFC 2606), stable per
 * server address. */
static void host_name(uint64_t h, char *out, size_t cap)
{
    static const char *const words[] = {"www", "api", "cdn", "img", "static", "news",
                                        "shop", "app", "video", "auth", "m", "media"};
    static const char *const doms[] = {"example.com", "example.net", "example.org"};
    snprintf(out, cap, "%s%u.%s", words[h % 12], (unsigned)((h >> 8) % 97),
             doms[(h >> 16) % 3]);
}

static void server_name(const gen_flow_t *f, char *out, size_t cap)
{
    host_name(load_addr_hash(f->addr[1]), out, cap);
}

static void tls_client_hello(const gen_flow_t *f, uint16_t msg, wbuf_t *w)
{
    uint8_t body[768];
    wbuf_t h = {body, sizeof body, 0};
    char sni[64];
    server_name(f, sni, sizeof sni);
    uint64_t hs = gen_hash3(f->hseed, msg, 0xc11e);
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
                                      0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
                                      0x009d, 0x002f, 0x0035};
    wb_u16(&h, 0x0303);
    wb_hashbytes(&h, hs, 32);                /* random */
    wb_u8(&h, 32);
    wb_hashbytes(&h, hs ^ 1, 32);            /* legacy session id */
    wb_u16(&h, sizeof suites);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        wb_u16(&h, suites[i]);
    wb_u8(&h, 1);
    wb_u8(&h, 0);                            /* null compression */
    size_t extlen_at = h.n;
    wb_u16(&h, 0);
    size_t ext_start = h.n;
    size_t sl = strlen(sni);
    wb_u16(&h, 0x0000);                      /* server_name */
    wb_u16(&h, (uint32_t)(sl + 5));
    wb_u16(&h, (uint32_t)(sl + 3));
    wb_u8(&h, 0);
    wb_u16(&h, (uint32_t)sl);
    wb_str(&h, sni);
    static const uint8_t fixed[] = {
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, /* groups */
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                                     /* points */
        0x00, 0x0d, 0x00, 0x12, 0x00, 0x10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, /* sigalgs */
        0x05, 0x03, 0x08, 0x05, 0x05, 0x01, 0x08, 0x06, 0x06, 0x01,
        0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/',
        '1', '.', '1',                                                          /* ALPN */
        0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04,                               /* versions */
        0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,                                     /* psk modes */
        0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,             /* key share */
    };
    wb_put(&h, fixed, sizeof fixed);
    wb_hashbytes(&h, hs ^ 2, 32);
    /* padding extension up to a 512-byte handshake, as common browsers do */
    if (h.n + 4 + 4 < 512) {
        size_t pad = 512 - 4 - 4 - h.n;
        wb_u16(&h, 0x0015);
        wb_u16(&h, (uint32_t)pad);
        uint8_t zero[512] = {0};
        wb_put(&h, zero, pad);
    }
    put16(body + extlen_at, (uint32_t)(h.n - ext_start));
    wb_u8(w, 0x16);
    wb_u16(w, 0x0301);
    wb_u16(w, (uint32_t)(h.n + 4));
    wb_u8(w, 0x01);
    wb_u8(w, 0);
    wb_u16(w, (uint32_t)h.n);
    wb_put(w, body, h.n);
}

static void tls_server_flight(const gen_flow_t *f, uint16_t msg, uint32_t mlen, wbuf_t *w)
{
    uint64_t hs = gen_hash3(f->hseed, msg, 0x5e7e);
    wb_u8(w, 0x16);
    wb_u16(w, 0x0303);
    wb_u16(w, 122);
    wb_u8(w, 0x02);
    wb_u8(w, 0);
    wb_u16(w, 118);
    wb_u16(w, 0x0303);
    wb_hashbytes(w, hs, 32);
    wb_u8(w, 32);
    wb_hashbytes(w, gen_hash3(f->hseed, 0, 0xc11e) ^ 1, 32); /* echoes the session id */
    wb_u16(w, 0x1301);
    wb_u8(w, 0);
    wb_u16(w, 46);
    static const uint8_t ext[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33,
                                  0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
    wb_put(w, ext, sizeof ext);
    wb_hashbytes(w, hs ^ 3, 32);
    static const uint8_t ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
    wb_put(w, ccs, sizeof ccs);
    uint32_t rest = mlen > w->n + 5 ? mlen - (uint32_t)w->n - 5 : 0;
    wb_u8(w, 0x17);
    wb_u16(w, 0x0303);
    wb_u16(w, rest > 16640 ? 16640 : rest);
}

static void tls_app_header(uint32_t mlen, wbuf_t *w)
{
    uint32_t rest = mlen > 5 ? mlen - 5 : 0;
    wb_u8(w, 0x17);
    wb_u16(w, 0x0303);
    wb_u16(w, rest > 16640 ? 16640 : rest);
}

static const char *user_agent(uint64_t h)
{
    static const char *const ua[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/85.0.4183.83 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:80.0) Gecko/20100101 Firefox/80.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 13_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/13.1.2 Mobile/15E148 Safari/604.1",
        "curl/7.68.0",
    };
    return ua[h % 4];
}

static void http_get(const gen_flow_t *f, uint8_t parg, uint16_t msg, wbuf_t *w)
{
    char host[64];
    server_name(f, host, sizeof host);
    uint64_t h = gen_hash3(f->hseed, msg, 0x6e7);
    static const char *const dirs[] = {"", "static/", "img/", "api/v1/", "news/", "assets/js/"};
    static const char *const exts[] = {".html", ".png", ".js", ".css", ".json", ".jpg"};
    switch (parg) {
    case 1:
        wb_str(w, "GET /robots.txt HTTP/1.1\r\n");
        break;
    case 2: /* flood: every bot asks for the same page */
        wb_fmt(w, "GET /%s?id=%u HTTP/1.1\r\n", f->app_state[3] & 1 ? "index.php" : "",
               (unsigned)(f->app_state[3] % 100000));
        break;
    default:
        wb_fmt(w, "GET /%s%llx%s HTTP/1.1\r\n", dirs[h % 6],
               (unsigned long long)(gen_mix64(h) >> (h % 40)), exts[(h >> 8) % 6]);
        break;
    }
    wb_fmt(w, "Host: %s\r\n", host);
    if (parg == 1 || parg == 3)
        wb_str(w, "User-Agent: Mozilla/5.0 (compatible; ExampleBot/2.1; "
                  "+http://bot.example.org/)\r\n");
    else if (parg == 2)
        wb_str(w, "User-Agent: Mozilla/5.0\r\n");
    else
        wb_fmt(w, "User-Agent: %s\r\n", user_agent(f->hseed));
    wb_str(w, "Accept: */*\r\nAccept-Encoding: gzip, deflate\r\n");
    if (parg == 0 && (h >> 20) % 3 == 0)
        wb_fmt(w, "Cookie: sid=%016llx%08x\r\n", (unsigned long long)gen_mix64(f->hseed),
               (unsigned)(h >> 32));
    wb_str(w, "Connection: keep-alive\r\n\r\n");
}

static void http_response(uint8_t parg, uint32_t mlen, wbuf_t *w)
{
    const char *status = parg == 1 ? "503 Service Unavailable" : "200 OK";
    char head[256];
    /* Content-Length counts the body after this header; settle its digits. */
    uint32_t body = 0;
    int n = 0;
    for (int i = 0; i < 3; i++) {
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
                     "Content-Length: %u\r\nConnection: keep-alive\r\n\r\n",
                     status, body);
        body = mlen > (uint32_t)n ? mlen - (uint32_t)n : 0;
    }
    wb_put(w, head, (size_t)n);
}

static void dns_name(wbuf_t *w, const char *name)
{
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        wb_u8(w, (uint32_t)len);
        wb_put(w, p, len);
        p += len + (dot ? 1 : 0);
    }
    wb_u8(w, 0);
}

static void dns_message(const gen_flow_t *f, int response, uint8_t parg, uint16_t msg,
                        wbuf_t *w)
{
    static const uint16_t qtypes[] = {1, 28, 65, 255};
    uint64_t h = gen_hash3(f->hseed, msg / 2, 0xd45);
    char name[64];
    if (parg == 3)
        snprintf(name, sizeof name, "example.%s", (f->hseed & 1) ? "com" : "org");
    else
        host_name(h, name, sizeof name);
    uint16_t qtype = qtypes[parg % 4];
    unsigned answers = response ? (parg == 3 ? 12 : 1 + (unsigned)((h >> 40) % 2)) : 0;
    wb_u16(w, (uint32_t)(h >> 48));                /* id: same for query and response */
    wb_u16(w, response ? 0x8180 : 0x0120);
    wb_u16(w, 1);
    wb_u16(w, answers);
    wb_u16(w, 0);
    wb_u16(w, 1);                                  /* EDNS OPT */
    dns_name(w, name);
    wb_u16(w, qtype);
    wb_u16(w, 1);
    if (response && parg != 3) {
        for (unsigned i = 0; i < answers; i++) {
            wb_u16(w, 0xc00c);
            uint16_t t = qtype == 255 ? 1 : qtype;
            wb_u16(w, t);
            wb_u16(w, 1);
            wb_u32(w, 60 + (uint32_t)((h >> 8) % 3600));
            if (t == 1) {
                wb_u16(w, 4);
                wb_hashbytes(w, h + i, 4);
            } else if (t == 28) {
                wb_u16(w, 16);
                wb_u32(w, 0x20010db8);
                wb_hashbytes(w, h + i, 12);
            } else {
                wb_u16(w, 9);                      /* HTTPS: priority 1, ".", alpn h2 */
                static const uint8_t svc[] = {0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x02, 0x02, 0x68};
                wb_put(w, svc, sizeof svc);
            }
        }
    }
    static const uint8_t opt[] = {0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    wb_put(w, opt, sizeof opt);
}

static void ntp_packet(const gen_flow_t *f, int server, uint16_t msg, wbuf_t *w)
{
    uint64_t h = gen_hash3(f->hseed, msg, 0x17e);
    wb_u8(w, server ? 0x24 : 0x23);                /* LI 0, version 4, mode 4 / 3 */
    wb_u8(w, server ? 2 : 0);                      /* stratum */
    wb_u8(w, 6);
    wb_u8(w, 0xe9);
    if (server) {
        wb_u32(w, (uint32_t)(h & 0xfff));
        wb_u32(w, (uint32_t)((h >> 12) & 0xfff));
        wb_hashbytes(w, h, 4);                     /* reference id */
        wb_hashbytes(w, h ^ 1, 32);                /* reference, origin, receive, transmit */
    } else {
        uint8_t zero[36] = {0};
        wb_put(w, zero, sizeof zero);
        wb_hashbytes(w, h ^ 2, 8);                 /* transmit timestamp */
    }
}

static void smtp_line(const gen_flow_t *f, uint8_t step, wbuf_t *w)
{
    unsigned n = (unsigned)(load_addr_hash(f->addr[1]) % 50);
    switch (step) {
    case 0:
        wb_fmt(w, "220 mx%u.example.net ESMTP Postfix\r\n", n);
        break;
    case 1:
        wb_fmt(w, "EHLO mail%u.example.org\r\n", (unsigned)(load_addr_hash(f->addr[0]) % 50));
        break;
    case 2:
        wb_fmt(w, "250-mx%u.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
                  "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n", n);
        break;
    case 3:
        wb_str(w, "STARTTLS\r\n");
        break;
    default:
        wb_str(w, "220 2.0.0 Ready to start TLS\r\n");
        break;
    }
}

static void quic_long(const gen_flow_t *f, uint8_t parg, uint32_t mlen, wbuf_t *w)
{
    static const uint8_t first[] = {0xc3, 0xc1, 0xe1};
    wb_u8(w, first[parg % 3]);
    wb_u32(w, 0x00000001);
    wb_u8(w, 8);
    wb_hashbytes(w, f->hseed ^ (parg ? 0x51 : 0xc1), 8);   /* destination id */
    wb_u8(w, 8);
    wb_hashbytes(w, f->hseed ^ (parg ? 0xc1 : 0x51), 8);   /* source id */
    if (parg < 2)
        wb_u8(w, 0);                                          /* no token */
    uint32_t rest = mlen > w->n + 2 ? mlen - (uint32_t)w->n - 2 : 0;
    wb_u16(w, 0x4000 | (rest & 0x3fff));
}

static void quic_short(const gen_flow_t *f, int dir, uint16_t msg, uint32_t idx, wbuf_t *w)
{
    wb_u8(w, 0x40 | (uint32_t)(gen_hash3(f->hseed, msg, idx) & 0x3f));
    wb_hashbytes(w, f->hseed ^ (dir ? 0xc1 : 0x51), 8);
}

static void ssdp(const gen_flow_t *f, uint8_t parg, wbuf_t *w)
{
    if (!parg) {
        wb_str(w, "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
                  "MX: 1\r\nST: ssdp:all\r\n\r\n");
        return;
    }
    uint64_t h = load_addr_hash(f->addr[0]);
    wb_fmt(w, "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
              "LOCATION: http://%u.%u.%u.%u:49152/rootDesc.xml\r\nSERVER: Linux/3.14 UPnP/1.0 "
              "IpBridge/1.26\r\nST: upnp:rootdevice\r\nUSN: uuid:%08x-%04x-%04x-%04x-%012llx::"
              "upnp:rootdevice\r\n\r\n",
              f->addr[0][0], f->addr[0][1], f->addr[0][2], f->addr[0][3], (unsigned)h,
              (unsigned)(h >> 32) & 0xffff, (unsigned)(h >> 48), (unsigned)(h >> 16) & 0xffff,
              (unsigned long long)(gen_mix64(h) & 0xffffffffffffull));
}

static void sip_options(const gen_flow_t *f, wbuf_t *w)
{
    const uint8_t *s = f->addr[0], *d = f->addr[1];
    uint64_t h = gen_hash3(f->hseed, 0, 0x519);
    wb_fmt(w, "OPTIONS sip:100@%u.%u.%u.%u SIP/2.0\r\n"
              "Via: SIP/2.0/UDP %u.%u.%u.%u:%u;branch=z9hG4bK-%08x;rport\r\n"
              "Max-Forwards: 70\r\nTo: \"100\"<sip:100@%u.%u.%u.%u>\r\n"
              "From: \"100\"<sip:100@%u.%u.%u.%u>;tag=%08x\r\n"
              "User-Agent: friendly-scanner\r\nCall-ID: %016llx\r\nContact: <sip:100@%u.%u.%u.%u:%u>\r\n"
              "CSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n",
              d[0], d[1], d[2], d[3], s[0], s[1], s[2], s[3], f->port[0], (unsigned)h, d[0], d[1],
              d[2], d[3], d[0], d[1], d[2], d[3], (unsigned)(h >> 32), (unsigned long long)gen_mix64(h),
              s[0], s[1], s[2], s[3], f->port[0]);
}

static void snmp_get(const gen_flow_t *f, wbuf_t *w)
{
    /* SNMPv2c get-request, community "public", sysDescr.0 */
    static const uint8_t head[] = {0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b',
                                   'l', 'i', 'c', 0xa0, 0x1c, 0x02, 0x04};
    static const uint8_t tail[] = {0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c,
                                   0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00,
                                   0x05, 0x00};
    wb_put(w, head, sizeof head);
    wb_hashbytes(w, f->hseed, 4);
    wb_put(w, tail, sizeof tail);
}

static void dht(const gen_flow_t *f, uint8_t parg, uint16_t msg, wbuf_t *w)
{
    uint64_t h = gen_hash3(f->hseed, msg / 2, 0xd47);
    if (parg == 0) {
        wb_str(w, "d1:ad2:id20:");
        wb_hashbytes(w, f->hseed, 20);
        wb_str(w, "e1:q4:ping1:t2:");
    } else {
        wb_str(w, "d1:rd2:id20:");
        wb_hashbytes(w, load_addr_hash(f->addr[1]), 20);
        if (parg == 2) {
            wb_str(w, "5:nodes208:");
            wb_hashbytes(w, h ^ 7, 208);
        }
        wb_str(w, "e1:t2:");
    }
    wb_hashbytes(w, h, 2);
    wb_str(w, parg == 0 ? "1:y1:qe" : "1:y1:re");
}

static void bt_handshake(const gen_flow_t *f, uint16_t msg, wbuf_t *w)
{
    static const uint8_t reserved[] = {0, 0, 0, 0, 0, 0x10, 0, 0x05};
    wb_u8(w, 19);
    wb_str(w, "BitTorrent protocol");
    wb_put(w, reserved, sizeof reserved);
    wb_hashbytes(w, f->app_state[3] ^ 0xb17ull, 20); /* info hash: shared by the swarm */
    wb_str(w, "-qB4250-");
    wb_hashbytes(w, gen_hash3(f->hseed, msg, 0xbe), 12);
}

static void icmp_quote(const gen_flow_t *f, uint32_t idx, wbuf_t *w)
{
    /* The datagram that triggered the error: sent by the error's receiver
     * (addr[1]) towards q_dst. */
    uint8_t ip[20] = {0x45, 0x00};
    uint16_t olen = f->q_len ? f->q_len : 60;
    put16(ip + 2, olen);
    put16(ip + 4, (uint32_t)gen_hash3(f->hseed, idx, 0x1d) & 0xffff);
    ip[8] = f->q_ttl;
    ip[9] = f->q_proto;
    memcpy(ip + 12, f->addr[1], 4);
    memcpy(ip + 16, f->q_dst, 4);
    put16(ip + 10, (uint16_t)~fold(sum_bytes(ip, 20)));
    wb_put(w, ip, 20);
    if (f->q_proto == 17) {
        wb_u16(w, f->q_ports[0]);
        wb_u16(w, f->q_ports[1] + idx);
        wb_u16(w, olen > 20 ? olen - 20u : 8u);
        wb_u16(w, (uint32_t)gen_hash3(f->hseed, idx, 0xc5) & 0xffff);
    } else if (f->q_proto == 6) {
        wb_u16(w, f->q_ports[0]);
        wb_u16(w, f->q_ports[1]);
        wb_hashbytes(w, gen_hash3(f->hseed, idx, 0x5e9), 4);
    } else {
        wb_u8(w, 8);
        wb_u8(w, 0);
        wb_u16(w, (uint32_t)gen_hash3(f->hseed, idx, 0xc5) & 0xffff);
        wb_u16(w, f->q_ports[0]);
        wb_u16(w, f->q_ports[1] + idx);
    }
}

size_t ef_gen_prefix(const gen_flow_t *f, uint8_t pfx, uint8_t parg, uint16_t msg,
                     uint32_t idx, uint32_t mlen, uint8_t *buf, size_t cap)
{
    wbuf_t w = {buf, cap, 0};
    switch (pfx) {
    case GEN_PFX_TLS_CH:
        tls_client_hello(f, msg, &w);
        break;
    case GEN_PFX_TLS_SH:
        tls_server_flight(f, msg, mlen, &w);
        break;
    case GEN_PFX_TLS_APP:
        tls_app_header(mlen, &w);
        break;
    case GEN_PFX_HTTP_GET:
        http_get(f, parg, msg, &w);
        break;
    case GEN_PFX_HTTP_RESP:
        http_response(parg, mlen, &w);
        break;
    case GEN_PFX_DNS_Q:
        dns_message(f, 0, parg, msg, &w);
        break;
    case GEN_PFX_DNS_R:
        dns_message(f, 1, parg, msg, &w);
        break;
    case GEN_PFX_NTP_C:
        ntp_packet(f, 0, msg, &w);
        break;
    case GEN_PFX_NTP_S:
        ntp_packet(f, 1, msg, &w);
        break;
    case GEN_PFX_SSH_BANNER: {
        static const char *const banners[] = {
            "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.1\r\n", "SSH-2.0-OpenSSH_7.4\r\n",
            "SSH-2.0-OpenSSH_8.3\r\n", "SSH-2.0-PuTTY_Release_0.74\r\n"};
        wb_str(&w, banners[parg ? load_addr_hash(f->addr[1]) % 3 : 2 + f->hseed % 2]);
        break;
    }
    case GEN_PFX_SSH_PKT:
        if (msg < 8) { /* key exchange travels in clear: length, padding, type */
            wb_u32(&w, mlen > 4 ? mlen - 4 : 0);
            wb_u8(&w, 4 + (uint32_t)(f->hseed % 8));
            static const uint8_t types[] = {20, 20, 30, 31, 21, 21, 5, 6};
            wb_u8(&w, types[msg]);
        }
        break;
    case GEN_PFX_SMTP:
        smtp_line(f, parg, &w);
        break;
    case GEN_PFX_QUIC_LONG:
        quic_long(f, parg, mlen, &w);
        break;
    case GEN_PFX_QUIC_SHORT:
        quic_short(f, parg, msg, idx, &w);
        break;
    case GEN_PFX_SSDP:
        ssdp(f, parg, &w);
        break;
    case GEN_PFX_SIP:
        sip_options(f, &w);
        break;
    case GEN_PFX_SNMP:
        snmp_get(f, &w);
        break;
    case GEN_PFX_DHT:
        dht(f, parg, msg, &w);
        break;
    case GEN_PFX_BT_HS:
        bt_handshake(f, msg, &w);
        break;
    case GEN_PFX_MEMCACHED:
        wb_u16(&w, (uint32_t)f->hseed & 0xffff);
        wb_u16(&w, parg ? idx : 0);
        wb_u16(&w, parg ? 32 : 1);
        wb_u16(&w, 0);
        wb_str(&w, parg ? "STAT pid 2217\r\nSTAT uptime 8612003\r\n" : "stats\r\n");
        break;
    case GEN_PFX_NTP_MON:
        wb_u8(&w, 0xd7);                /* response, more, version 2, mode 7 */
        wb_u8(&w, idx & 0x7f);
        wb_u8(&w, 3);                   /* implementation: XNTPD */
        wb_u8(&w, 42);                  /* request code: MON_GETLIST_1 */
        wb_u16(&w, 6);
        wb_u16(&w, 72);
        break;
    case GEN_PFX_RTP:
        wb_u8(&w, 0x80);
        wb_u8(&w, idx == 0 ? 0x80 : 0x00); /* marker on the first packet, PCMU */
        wb_u16(&w, (uint32_t)(gen_hash3(f->hseed, parg, 1) + idx) & 0xffff);
        wb_u32(&w, (uint32_t)gen_hash3(f->hseed, parg, 2) + idx * 160u);
        wb_u32(&w, (uint32_t)gen_hash3(f->hseed, parg, 3));
        break;
    case GEN_PFX_ICMP_QUOTE:
        icmp_quote(f, idx, &w);
        break;
    default:
        break;
    }
    return w.n;
}

uint32_t ef_gen_pfx_len(const gen_flow_t *f, uint8_t pfx, uint8_t parg, uint16_t msg,
                        uint32_t idx)
{
    uint8_t scratch[1024];
    size_t n = ef_gen_prefix(f, pfx, parg, msg, idx, 0, scratch, sizeof scratch);
    return (uint32_t)(n > 1400 ? 1400 : n);
}

/* ------------------------------------------------------------------ */
/* Headers */

static size_t tcp_options(const gen_flow_t *f, const gen_pkt_t *p, uint8_t *o)
{
    int d = p->dir;
    size_t n = 0;
    uint32_t tsecr = p->tsecr;
    if (p->synopt) {
        uint8_t kind = f->synopt[d];
        if (!f->tsopt && (kind == GEN_SYNOPT_LINUX || kind == GEN_SYNOPT_MAC))
            kind = GEN_SYNOPT_WINDOWS; /* peer did not offer timestamps */
        if (kind == GEN_SYNOPT_NONE)
            return 0;
        o[n++] = 2;
        o[n++] = 4;
        put16(o + n, f->mss_opt[d]);
        n += 2;
        switch (kind) {
        case GEN_SYNOPT_LINUX:
            o[n++] = 4, o[n++] = 2;                               /* SACK permitted */
            o[n++] = 8, o[n++] = 10;
            put32(o + n, p->tsv), put32(o + n + 4, tsecr), n += 8; /* timestamps */
            o[n++] = 1, o[n++] = 3, o[n++] = 3, o[n++] = 7;        /* NOP, window scale 7 */
            break;
        case GEN_SYNOPT_WINDOWS:
            o[n++] = 1, o[n++] = 3, o[n++] = 3, o[n++] = 8;        /* NOP, window scale 8 */
            o[n++] = 1, o[n++] = 1, o[n++] = 4, o[n++] = 2;        /* NOP NOP SACK perm */
            break;
        case GEN_SYNOPT_MAC:
            o[n++] = 1, o[n++] = 3, o[n++] = 3, o[n++] = 6;
            o[n++] = 1, o[n++] = 1, o[n++] = 8, o[n++] = 10;
            put32(o + n, p->tsv), put32(o + n + 4, tsecr), n += 8;
            o[n++] = 4, o[n++] = 2, o[n++] = 0, o[n++] = 0;        /* SACK perm, EOL */
            break;
        default:
            break;
        }
        return n;
    }
    if (f->tsopt && !(p->flags & 0x04)) {
        o[n++] = 1, o[n++] = 1, o[n++] = 8, o[n++] = 10;
        put32(o + n, p->tsv), put32(o + n + 4, tsecr), n += 8;
    }
    return n;
}

static void ipv4_header(uint8_t *ip, uint32_t total, uint16_t id, int df, uint8_t ttl,
                        uint8_t proto, const uint8_t *src, const uint8_t *dst)
{
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, total);
    put16(ip + 4, id);
    put16(ip + 6, df ? 0x4000 : 0);
    ip[8] = ttl;
    ip[9] = proto;
    ip[10] = ip[11] = 0;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    put16(ip + 10, (uint16_t)~fold(sum_bytes(ip, 20)));
}

uint32_t ef_gen_render(const gen_ctx_t *c, const gen_flow_t *f, const gen_pkt_t *p,
                       uint8_t *out, uint16_t *ip_len)
{
    int d = p->dir;
    uint8_t opts[40];
    size_t optlen = 0, l4h;
    uint8_t proto;
    if (f->tp == GEN_TP_TCP) {
        proto = 6;
        optlen = tcp_options(f, p, opts);
        l4h = 20 + optlen;
    } else if (f->tp == GEN_TP_UDP) {
        proto = 17;
        l4h = 8;
    } else {
        proto = f->ipv == 6 ? 58 : 1;
        l4h = 8;
    }
    size_t iph = f->ipv == 6 ? 40 : 20;
    uint32_t inner = (uint32_t)(iph + l4h + p->plen);
    uint32_t total = inner + (f->encap ? 20 : 0);
    uint8_t *q = out;
    if (c->cfg.linktype == EF_DLT_EN10MB) {
        /* Two routers on the monitored link; the client sits behind one. */
        static const uint8_t mac[2][6] = {{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01},
                                          {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}};
        int from = d ^ f->mac_side;
        memcpy(q, mac[!from], 6);
        memcpy(q + 6, mac[from], 6);
        put16(q + 12, (f->ipv == 6 && !f->encap) ? 0x86dd : 0x0800);
        q += 14;
    }
    if (f->encap) {
        ipv4_header(q, total, p->ipid, 1, f->ttl[d], 41, f->outer[d], f->outer[!d]);
        q += 20;
    }
    uint8_t *ip = q;
    uint8_t ttl = f->encap ? 64 : f->ttl[d];
    if (f->ipv == 6) {
        put32(ip, 0x60000000u | (f->flabel & 0xfffff));
        put16(ip + 4, (uint32_t)(inner - 40));
        ip[6] = proto;
        ip[7] = ttl;
        memcpy(ip + 8, f->addr[d], 16);
        memcpy(ip + 24, f->addr[!d], 16);
    } else {
        ipv4_header(ip, inner, p->ipid, f->df, ttl, proto, f->addr[d], f->addr[!d]);
    }
    uint8_t *l4 = ip + iph;
    memset(l4, 0, l4h);
    size_t ck_at;
    if (proto == 6) {
        put16(l4, f->port[d]);
        put16(l4 + 2, f->port[!d]);
        put32(l4 + 4, p->seq);
        put32(l4 + 8, p->ack);
        l4[12] = (uint8_t)((l4h / 4) << 4);
        l4[13] = p->flags;
        put16(l4 + 14, (p->flags & 0x02) ? f->syn_win[d] : f->win[d]);
        memcpy(l4 + 20, opts, optlen);
        ck_at = 16;
    } else if (proto == 17) {
        put16(l4, f->port[d]);
        put16(l4 + 2, f->port[!d]);
        put16(l4 + 4, (uint32_t)(8 + p->plen));
        ck_at = 6;
    } else {
        l4[0] = p->flags;
        l4[1] = p->code;
        if (p->flags == 8 || p->flags == 0 || p->flags == 128 || p->flags == 129) {
            put16(l4 + 4, f->port[0]);
            put16(l4 + 6, p->seq);
        }
        ck_at = 2;
    }
    uint8_t *pl = l4 + l4h;
    size_t pfxn = 0;
    if (p->pfx) {
        pfxn = ef_gen_prefix(f, p->pfx, p->parg, p->msg, p->off, p->mlen, pl, p->plen);
        if (pfxn > p->plen)
            pfxn = p->plen;
    }
    uint32_t fill = p->plen - (uint32_t)pfxn;
    uint32_t fo = (uint32_t)(gen_hash3(f->hseed, p->seq ^ p->off, p->msg) % GEN_FILLER_BYTES) & ~1u;
    uint32_t frame = (uint32_t)(pl - out) + p->plen;
    uint32_t caplen = frame < c->cfg.snaplen ? frame : c->cfg.snaplen;
    uint32_t before = (uint32_t)(pl - out + pfxn);
    if (caplen > before)
        memcpy(pl + pfxn, c->filler + fo, caplen - before);
    /* transport checksum over the whole segment, filler included */
    uint64_t s = sum_bytes(l4, l4h + pfxn) + filler_sum(c, fo, fill, (int)((l4h + pfxn) & 1));
    if (proto != 1) {
        uint32_t l4len = (uint32_t)(l4h + p->plen);
        if (f->ipv == 6) {
            s += sum_bytes(ip + 8, 32);
            s += l4len + proto;
        } else {
            s += sum_bytes(ip + 12, 8);
            s += l4len + proto;
        }
    }
    uint16_t ck = (uint16_t)~fold(s);
    if (proto == 17 && ck == 0)
        ck = 0xffff;
    put16(l4 + ck_at, ck);
    *ip_len = (uint16_t)total;
    return frame;
}
