/* A stand-in for Suricata that loads earlyflow-suricata.so and drives it.
 *
 * Suricata itself cannot be built here (docs/integration-suricata.md), so
 * this program plays the host: it is compiled against Suricata 8.0's own
 * headers (so Flow, Packet, Signature, SigTableElmt and every prototype are
 * Suricata's: a fake with the wrong signature does not compile), provides
 * the 28 Suricata symbols the adapter uses (exported with -rdynamic, as
 * Suricata exports them), dlopens the adapter with RTLD_NOW like Suricata's
 * util-plugin.c, and then calls the callbacks the adapter registered the
 * way Suricata 8.0.x does (flow update before detection, the flow record
 * before the finish callback, NULL packet / flow where Suricata passes them).
 *
 * What it proves: the adapter's own logic (config, engine calls, match
 * window, flow-end verdicts, EVE object, keyword setup, NULL handling)
 * runs as intended with the real engine and built-in models, under ASan or
 * valgrind if wanted. What it cannot prove: that Suricata behaves as this
 * stand-in does. Its storage, config tree, keyword table and JSON builder
 * are minimal re-implementations, not Suricata's.
 *
 * Usage: sc_plugin_harness PATH/earlyflow-suricata.so [K=MODEL_FILE ...]
 * Decides at k = 5 and 3 (earlyflow.k: [5, 3]) with the built-in models, or
 * with the model files given per k (earlyflow.models.K).
 * Exit 0 = all checks passed, 1 = a check failed, 77 = skipped (the adapter
 * was built without the engine, or without built-in models and no model
 * files were given). */
#include "suricata-common.h"
#include "suricata-plugin.h"

#include "conf.h"
#include "decode.h"
#include "detect-engine-helper.h"
#include "detect-parse.h"
#include "detect.h"
#include "flow-callbacks.h"
#include "flow-storage.h"
#include "flow.h"
#include "output-eve.h"
#include "thread-callbacks.h"
#include "thread-storage.h"
#include "util-debug.h"

#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <sys/wait.h>

/* ---- checks ------------------------------------------------------------- */

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* ---- logging: Suricata's SCLog / SCLogErr, kept in a buffer ------------- */

static char log_buf[16384];
static size_t log_len;

static void LogV(int level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (getenv("HARNESS_VERBOSE") != NULL)
        fprintf(stderr, "[log %d] %s\n", level, line);
    int n = snprintf(log_buf + log_len, sizeof(log_buf) - log_len, "%d|%s\n", level, line);
    if (n > 0 && log_len + (size_t)n < sizeof(log_buf))
        log_len += (size_t)n;
}

void SCLog(int x, const char *file, const char *func, const int line, const char *module,
           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    LogV(x, fmt, ap);
    va_end(ap);
}

void SCLogErr(int x, const char *file, const char *func, const int line, const char *module,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    LogV(x, fmt, ap);
    va_end(ap);
}

static int Logged(int level, const char *needle)
{
    char want[64];
    snprintf(want, sizeof(want), "%d|", level);
    for (const char *l = log_buf; (l = strstr(l, want)) != NULL; l++) {
        const char *end = strchr(l, '\n');
        const char *hit = strstr(l, needle);
        if (hit != NULL && (end == NULL || hit < end))
            return 1;
    }
    return 0;
}

static void LogClear(void)
{
    log_len = 0;
    log_buf[0] = '\0';
}

void *SCCallocFunc(const size_t nm, const size_t sz)
{
    return calloc(nm, sz);
}

/* ---- configuration: a tree of SCConfNode built from dotted keys ------- */

static SCConfNode conf_root;

static SCConfNode *ConfChild(SCConfNode *parent, const char *name, size_t len, int create)
{
    SCConfNode *c;
    TAILQ_FOREACH (c, &parent->head, next)
        if (strlen(c->name) == len && strncmp(c->name, name, len) == 0)
            return c;
    if (!create)
        return NULL;
    c = calloc(1, sizeof(*c));
    c->name = strndup(name, len);
    c->parent = parent;
    TAILQ_INIT(&c->head);
    TAILQ_INSERT_TAIL(&parent->head, c, next);
    return c;
}

static SCConfNode *ConfWalk(const char *key, int create)
{
    SCConfNode *n = &conf_root;
    while (n != NULL && *key != '\0') {
        const char *dot = strchr(key, '.');
        size_t len = dot ? (size_t)(dot - key) : strlen(key);
        n = ConfChild(n, key, len, create);
        key += len + (dot != NULL);
    }
    return n;
}

static void ConfSet(const char *key, const char *val)
{
    SCConfNode *n = ConfWalk(key, 1);
    n->val = val ? strdup(val) : NULL;
}

SCConfNode *SCConfGetNode(const char *key)
{
    return ConfWalk(key, 0);
}

int SCConfGet(const char *name, const char **vptr)
{
    SCConfNode *n = SCConfGetNode(name);
    if (n == NULL)
        return 0;
    *vptr = n->val;
    return 1;
}

/* ---- storage ------------------------------------------------------------ */

#define STORAGE_SLOTS 4
static void (*flow_free[STORAGE_SLOTS])(void *);
static void (*thread_free[STORAGE_SLOTS])(void *);
static int n_flow_storage, n_thread_storage;

FlowStorageId FlowStorageRegister(const char *name, const unsigned int size,
                                  void *(*Alloc)(unsigned int), void (*Free)(void *))
{
    FlowStorageId id = {.id = -1};
    /* Suricata's StorageRegister: pointer-sized storage may have no Alloc. */
    if (n_flow_storage < STORAGE_SLOTS && size == sizeof(void *) && Free != NULL) {
        flow_free[n_flow_storage] = Free;
        id.id = n_flow_storage++;
    }
    return id;
}

ThreadStorageId ThreadStorageRegister(const char *name, const unsigned int size,
                                      void *(*Alloc)(unsigned int), void (*Free)(void *))
{
    ThreadStorageId id = {.id = -1};
    if (n_thread_storage < STORAGE_SLOTS && size == sizeof(void *) && Free != NULL) {
        thread_free[n_thread_storage] = Free;
        id.id = n_thread_storage++;
    }
    return id;
}

void *FlowGetStorageById(const Flow *f, FlowStorageId id)
{
    return f->storage[id.id].ptr;
}

int FlowSetStorageById(Flow *f, FlowStorageId id, void *ptr)
{
    f->storage[id.id].ptr = ptr;
    return 0;
}

void *ThreadGetStorageById(const ThreadVars *tv, ThreadStorageId id)
{
    return tv->storage[id.id].ptr;
}

int ThreadSetStorageById(ThreadVars *tv, ThreadStorageId id, void *ptr)
{
    tv->storage[id.id].ptr = ptr;
    return 0;
}

static Flow *NewFlow(uint8_t proto)
{
    Flow *f = calloc(1, sizeof(Flow) + STORAGE_SLOTS * sizeof(Storage));
    f->proto = proto;
    return f;
}

/* Suricata's FlowClearMemory: every storage's Free, then the flow. */
static void FreeFlow(Flow *f)
{
    for (int i = 0; i < n_flow_storage; i++)
        if (f->storage[i].ptr != NULL)
            flow_free[i](f->storage[i].ptr);
    free(f);
}

/* ---- callbacks the adapter registers ---------------------------------- */

static SCFlowInitCallbackFn on_flow_init;
static SCFlowUpdateCallbackFn on_flow_update;
static SCFlowFinishCallbackFn on_flow_finish;
static SCThreadInitCallbackFn on_thread_init;
static SCEveUserCallbackFn on_eve;
static void *flow_init_user, *flow_update_user, *flow_finish_user, *thread_init_user, *eve_user;

bool SCFlowRegisterInitCallback(SCFlowInitCallbackFn fn, void *user)
{
    on_flow_init = fn;
    flow_init_user = user;
    return true;
}

bool SCFlowRegisterUpdateCallback(SCFlowUpdateCallbackFn fn, void *user)
{
    on_flow_update = fn;
    flow_update_user = user;
    return true;
}

bool SCFlowRegisterFinishCallback(SCFlowFinishCallbackFn fn, void *user)
{
    on_flow_finish = fn;
    flow_finish_user = user;
    return true;
}

bool SCThreadRegisterInitCallback(SCThreadInitCallbackFn fn, void *user)
{
    on_thread_init = fn;
    thread_init_user = user;
    return true;
}

bool SCEveRegisterCallback(SCEveUserCallbackFn fn, void *user)
{
    on_eve = fn;
    eve_user = user;
    return true;
}

/* ---- keyword table and signatures ------------------------------------- */

#define FIRST_PLUGIN_KEYWORD 400 /* past Suricata's built-in keywords */
SigTableElmt *sigmatch_table;
static int next_keyword = FIRST_PLUGIN_KEYWORD;

int SCDetectHelperNewKeywordId(void)
{
    return next_keyword < FIRST_PLUGIN_KEYWORD + 16 ? next_keyword++ : -1;
}

SigMatch *SCSigMatchAppendSMToList(DetectEngineCtx *de_ctx, Signature *s, uint16_t type,
                                   SigMatchCtx *ctx, int list)
{
    SigMatch *sm = calloc(1, sizeof(*sm));
    sm->type = type;
    sm->ctx = ctx;
    SigMatch **tail = &s->init_data->smlists[list];
    while (*tail != NULL) {
        sm->prev = *tail;
        tail = &(*tail)->next;
    }
    *tail = sm;
    return sm;
}

static int KeywordId(const char *name)
{
    for (int id = FIRST_PLUGIN_KEYWORD; id < next_keyword; id++)
        if (sigmatch_table[id].name != NULL && strcmp(sigmatch_table[id].name, name) == 0)
            return id;
    return -1;
}

static Signature *NewSignature(void)
{
    Signature *s = calloc(1, sizeof(*s));
    s->init_data = calloc(1, sizeof(*s->init_data));
    return s;
}

/* Add "name:value" to a rule the way Suricata's parser hands it over
 * (value trimmed, no quotes). Returns Setup's result. */
static int AddKeyword(Signature *s, const char *name, const char *value)
{
    int id = KeywordId(name);
    if (id < 0)
        return -100;
    return sigmatch_table[id].Setup(NULL, s, value);
}

static Signature *Rule(const char *opt1, const char *val1, const char *opt2, const char *val2)
{
    Signature *s = NewSignature();
    int rc = AddKeyword(s, opt1, val1);
    CHECK(rc == 0, "%s:%s refused (%d): %s", opt1, val1, rc, log_buf);
    if (opt2 != NULL) {
        rc = AddKeyword(s, opt2, val2);
        CHECK(rc == 0, "%s:%s refused (%d): %s", opt2, val2, rc, log_buf);
    }
    return s;
}

/* A packet match: every sigmatch of the rule's match list (Suricata's AND). */
static int RuleMatches(const Signature *s, Packet *p)
{
    int any = 0;
    for (const SigMatch *sm = s->init_data->smlists[DETECT_SM_LIST_MATCH]; sm != NULL;
         sm = sm->next) {
        if (!sigmatch_table[sm->type].Match(NULL, p, s, sm->ctx))
            return 0;
        any = 1;
    }
    return any;
}

static void FreeSignature(Signature *s)
{
    SigMatch *sm = s->init_data->smlists[DETECT_SM_LIST_MATCH];
    while (sm != NULL) {
        SigMatch *next = sm->next;
        sigmatch_table[sm->type].Free(NULL, sm->ctx);
        free(sm);
        sm = next;
    }
    free(s->init_data);
    free(s);
}

/* ---- a minimal SCJsonBuilder (Suricata's is Rust) ---------------------- */

struct SCJsonBuilder {
    char buf[8192];
    size_t len;
    char stack[16];   /* '{' or '[' per open level */
    int first[16];    /* nothing written yet at this level */
    int depth;
};

static void JbPut(SCJsonBuilder *jb, const char *s)
{
    size_t n = strlen(s);
    if (jb->len + n < sizeof(jb->buf)) {
        memcpy(jb->buf + jb->len, s, n + 1);
        jb->len += n;
    }
}

static void JbSep(SCJsonBuilder *jb)
{
    if (!jb->first[jb->depth])
        JbPut(jb, ",");
    jb->first[jb->depth] = 0;
}

static void JbKey(SCJsonBuilder *jb, const char *key)
{
    JbSep(jb);
    JbPut(jb, "\"");
    JbPut(jb, key);
    JbPut(jb, "\":");
}

static bool JbOpen(SCJsonBuilder *jb, char kind)
{
    char s[2] = {kind, '\0'};
    JbPut(jb, s);
    jb->stack[++jb->depth] = kind;
    jb->first[jb->depth] = 1;
    return true;
}

static void JbStart(SCJsonBuilder *jb)
{
    memset(jb, 0, sizeof(*jb));
    JbOpen(jb, '{');
}

bool SCJbOpenObject(SCJsonBuilder *js, const char *key)
{
    JbKey(js, key);
    return JbOpen(js, '{');
}

bool SCJbStartObject(SCJsonBuilder *js)
{
    JbSep(js);
    return JbOpen(js, '{');
}

bool SCJbOpenArray(SCJsonBuilder *js, const char *key)
{
    JbKey(js, key);
    return JbOpen(js, '[');
}

bool SCJbClose(SCJsonBuilder *js)
{
    if (js->depth == 0)
        return false;
    JbPut(js, js->stack[js->depth--] == '{' ? "}" : "]");
    return true;
}

bool SCJbSetString(SCJsonBuilder *js, const char *key, const char *val)
{
    JbKey(js, key);
    JbPut(js, "\"");
    JbPut(js, val); /* the adapter writes labels and model names only */
    JbPut(js, "\"");
    return true;
}

bool SCJbSetFormatted(SCJsonBuilder *js, const char *formatted)
{
    JbSep(js);
    JbPut(js, formatted);
    return true;
}

bool SCJbSetUint(SCJsonBuilder *js, const char *key, uint64_t val)
{
    char s[32];
    snprintf(s, sizeof(s), "%" PRIu64, val);
    JbKey(js, key);
    JbPut(js, s);
    return true;
}

bool SCJbSetFloat(SCJsonBuilder *js, const char *key, double val)
{
    char s[48];
    if (isnan(val) || isinf(val))
        snprintf(s, sizeof(s), "null");
    else
        snprintf(s, sizeof(s), "%.17g", val);
    JbKey(js, key);
    JbPut(js, s);
    return true;
}

bool SCJbSetBool(SCJsonBuilder *js, const char *key, bool val)
{
    JbKey(js, key);
    JbPut(js, val ? "true" : "false");
    return true;
}

/* One EVE record for (p, f) as OutputJsonBuilderBuffer builds it: header
 * fields, then the user callbacks, then the closing brace. */
static const char *EveRecord(SCJsonBuilder *jb, ThreadVars *tv, const Packet *p, Flow *f)
{
    JbStart(jb);
    SCJbSetString(jb, "event_type", p != NULL ? "alert" : "flow");
    on_eve(tv, p, f, jb, eve_user);
    SCJbClose(jb);
    return jb->buf;
}

static int JsonValid(const char *text)
{
    FILE *py = popen("/usr/bin/python3 -c 'import json,sys; json.loads(sys.stdin.read())' "
                     "2>/dev/null", "w");
    if (py == NULL)
        return -1;
    fputs(text, py);
    int rc = pclose(py);
    return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* ---- packets ------------------------------------------------------------ */

typedef struct TestPacket {
    Packet p;
    uint8_t ip[20 + 20];
} TestPacket;

/* One IPv4 packet of flow f, as Suricata's FlowHandlePacketUpdate leaves it
 * when the flow update callbacks run: counters bumped, direction set. */
static Packet *FlowPacket(TestPacket *tp, Flow *f, uint8_t proto, int to_server,
                          uint16_t ip_len, uint8_t tcp_flags, uint64_t usec)
{
    memset(tp, 0, sizeof(*tp));
    Packet *p = &tp->p;
    IPV4Hdr *ip4 = (IPV4Hdr *)tp->ip;
    ip4->ip_verhl = 0x45;
    ip4->ip_len = htons(ip_len);
    ip4->ip_proto = proto;
    PacketSetIPV4(p, tp->ip);
    if (proto == IPPROTO_TCP) {
        TCPHdr *tcp = PacketSetTCP(p, tp->ip + 20);
        tcp->th_flags = tcp_flags;
    }
    p->proto = proto;
    p->flow = f;
    p->ts = (SCTime_t){.secs = 1700000000 + usec / 1000000, .usecs = usec % 1000000};
    if (to_server)
        f->todstpktcnt++;
    else
        f->tosrcpktcnt++;
    p->flowflags = to_server ? FLOW_PKT_TOSERVER : FLOW_PKT_TOCLIENT;
    return p;
}

/* ---- scenarios ---------------------------------------------------------- */

typedef const SCPlugin *(*RegisterFn)(void);

static const SCPlugin *LoadAdapter(const char *path, int *skip)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        fprintf(stderr, "cannot load %s: %s\n", path, why);
        *skip = why != NULL && strstr(why, "undefined symbol: ef_") != NULL;
        return NULL;
    }
    RegisterFn reg = (RegisterFn)dlsym(lib, "SCPluginRegister");
    return reg != NULL ? reg() : NULL;
}

/* A config that must stop Suricata at start-up: Init exits with
 * EXIT_FAILURE (Suricata's FatalError) after logging an error that names
 * `needle`. Runs in a child, since the adapter's Init runs once per
 * process; the child's exit handler checks its log. */
static const char *expected_error;

static void CheckExpectedError(void)
{
    if (!Logged(SC_LOG_ERROR, expected_error)) {
        fprintf(stderr, "no error naming '%s' in:\n%s", expected_error, log_buf);
        _exit(4);
    }
}

static void ExpectInitFails(const char *path, const char *key, const char *val,
                            const char *needle)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        ConfSet(key, val);
        int skip = 0;
        const SCPlugin *plugin = LoadAdapter(path, &skip);
        if (plugin == NULL)
            _exit(3);
        expected_error = needle;
        atexit(CheckExpectedError);
        plugin->Init();
        _exit(0); /* Init returned: the bad value was accepted */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FAILURE,
          "%s=%s: Init should fail naming '%s' (exit status %d: 0 accepted, 4 message "
          "missing)",
          key, val, needle, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void CheckRegistration(const SCPlugin *plugin)
{
    CHECK(plugin->version == SC_API_VERSION, "version 0x%" PRIx64, plugin->version);
    CHECK(strcmp(plugin->name, "earlyflow") == 0, "name %s", plugin->name);
    CHECK(plugin->license != NULL && plugin->author != NULL && plugin->Init != NULL, "fields");
    CHECK(strcmp(plugin->suricata_version, SC_PACKAGE_VERSION) == 0, "built for %s",
          plugin->suricata_version);
}

static void CheckInit(void)
{
    CHECK(n_flow_storage == 1 && n_thread_storage == 1, "storage %d/%d", n_flow_storage,
          n_thread_storage);
    CHECK(on_flow_init && on_flow_update && on_flow_finish && on_thread_init && on_eve,
          "callbacks");
    CHECK(KeywordId("early.label") >= 0 && KeywordId("early.score") >= 0 &&
              KeywordId("early.k") >= 0,
          "keywords");
    CHECK(Logged(SC_LOG_CONFIG, "rules without early.k use k=5"),
          "default k is the first of earlyflow.k [5, 3]: %s", log_buf);
    CHECK(Logged(SC_LOG_WARNING, "earlyflow.colour: unknown key"), "unknown key warned");
    CHECK(!Logged(SC_LOG_WARNING, "earlyflow.memcap") && Logged(SC_LOG_CONFIG, "earlyflow.memcap"),
          "own-host key noted, not warned");
}

static void CheckKeywordSetup(void)
{
    LogClear();
    Signature *s = NewSignature();
    CHECK(AddKeyword(s, "early.k", "10") == -1, "k=10 is not in earlyflow.k");
    CHECK(Logged(SC_LOG_ERROR, "add 10 to earlyflow.k"), "%s", log_buf);
    CHECK(AddKeyword(s, "early.score", ">=1.5") == -1, "score above 1");
    CHECK(Logged(SC_LOG_ERROR, "early.score: column 3"), "%s", log_buf);
    CHECK(AddKeyword(s, "early.label", "DoS,Scan") == -1, "unknown label");
    CHECK(Logged(SC_LOG_ERROR, "early.label: column 5"), "%s", log_buf);
    CHECK(AddKeyword(s, "early.label", "DoS") == 0, "DoS");
    CHECK(AddKeyword(s, "early.label", "HTTP") == -1, "second early.label");
    CHECK(Logged(SC_LOG_ERROR, "early.label: given twice"), "%s", log_buf);
    CHECK(AddKeyword(s, "early.k", "3") == 0, "k=3 after the label");
    CHECK(AddKeyword(s, "early.k", "5") == -1, "second early.k");
    CHECK(Logged(SC_LOG_ERROR, "early.k: given twice"), "%s", log_buf);
    FreeSignature(s);
}

/* A 6-packet TCP conversation: SYN, SYN+ACK, ACK, data, data back, ACK. */
static void CheckLongFlow(ThreadVars *tv)
{
    Signature *k3 = Rule("early.k", "3", NULL, NULL);
    Signature *k5 = Rule("early.k", "5", NULL, NULL);
    Signature *any_label = Rule("early.label",
                                "Unlabeled,HTTP,Multi,Alpha,NetworkScan,PortScan,DoS,"
                                "IPv6Tunnel,Other,Unknown",
                                NULL, NULL); /* default k = 5 */
    Signature *foreign = Rule("early.label",
                              "!Unlabeled,HTTP,Multi,Alpha,NetworkScan,PortScan,DoS,"
                              "IPv6Tunnel,Other,Unknown",
                              "early.k", "3");
    Signature *never = Rule("early.score", "<0", "early.k", "5");
    /* early.k after early.label hands its k over to it. */
    Signature *label_then_k3 = Rule("early.label",
                                    "Unlabeled,HTTP,Multi,Alpha,NetworkScan,PortScan,DoS,"
                                    "IPv6Tunnel,Other,Unknown",
                                    "early.k", "3");
    static const struct { int to_server; uint16_t len; uint8_t flags; } pkts[] = {
        {1, 60, TH_SYN}, {0, 60, TH_SYN | TH_ACK}, {1, 52, TH_ACK},
        {1, 400, TH_ACK | TH_PUSH}, {0, 1500, TH_ACK}, {1, 52, TH_ACK},
    };
    /* Expected matches per packet (1-based): k=3 on its verdict packet (3,
     * client->server) and the first packet back (5); k=5 on 5 and 6. */
    static const int want_k3[] = {0, 0, 1, 0, 1, 0}, want_k5[] = {0, 0, 0, 0, 1, 1};
    Flow *f = NewFlow(IPPROTO_TCP);
    TestPacket tp;
    SCJsonBuilder *jb = calloc(1, sizeof(*jb));
    for (int i = 0; i < 6; i++) {
        Packet *p = FlowPacket(&tp, f, IPPROTO_TCP, pkts[i].to_server, pkts[i].len,
                               pkts[i].flags, 1000u * (uint64_t)i);
        if (i == 0)
            on_flow_init(tv, f, p, flow_init_user);
        on_flow_update(tv, f, p, flow_update_user);
        CHECK(RuleMatches(k3, p) == want_k3[i], "k3 on packet %d", i + 1);
        CHECK(RuleMatches(k5, p) == want_k5[i], "k5 on packet %d", i + 1);
        CHECK(RuleMatches(any_label, p) == want_k5[i], "label rule on packet %d", i + 1);
        CHECK(RuleMatches(label_then_k3, p) == want_k3[i], "label+k3 on packet %d", i + 1);
        CHECK(!RuleMatches(foreign, p), "foreign-label rule on packet %d", i + 1);
        CHECK(!RuleMatches(never, p), "score<0 on packet %d", i + 1);
        if (i == 2) {
            /* A pseudo packet (stream end at flow timeout) carries the flow
             * but no new packet count: it must not reuse the window. */
            Packet pseudo = *p;
            pseudo.flags |= PKT_PSEUDO_STREAM_END;
            CHECK(!RuleMatches(k3, &pseudo), "pseudo packet in the k=3 window");
        }
        const char *rec = EveRecord(jb, tv, p, f);
        if (i < 2)
            CHECK(strstr(rec, "\"early\"") == NULL, "no verdict yet: %s", rec);
        if (i == 2)
            CHECK(strstr(rec, "\"k\":3,\"packets\":3,\"at_flow_end\":false") != NULL &&
                      strstr(rec, "\"by_k\"") == NULL,
                  "k=3 verdict: %s", rec);
        if (i == 5) {
            CHECK(strstr(rec, "\"k\":5,\"packets\":5,\"at_flow_end\":false") != NULL &&
                      strstr(rec, "\"by_k\":[{") != NULL && strstr(rec, "\"probabilities\":{"),
                  "k=5 verdict and by_k: %s", rec);
            CHECK(JsonValid(rec) != 0, "invalid JSON: %s", rec);
        }
    }
    /* A pseudo packet and an ICMP error attached to the flow never match. */
    Packet *p = FlowPacket(&tp, f, IPPROTO_TCP, 0, 52, TH_ACK, 9000);
    on_flow_update(tv, f, p, flow_update_user);
    CHECK(RuleMatches(k5, p) == 0, "k5 window already used both ways");
    p->flags |= PKT_PSEUDO_STREAM_END;
    CHECK(!RuleMatches(k3, p) && !RuleMatches(k5, p), "pseudo packet");
    p = FlowPacket(&tp, f, IPPROTO_ICMP, 0, 56, 0, 9500);
    on_flow_update(tv, f, p, flow_update_user);
    CHECK(!RuleMatches(k3, p) && !RuleMatches(k5, p), "ICMP error");
    /* Flow end after every k was decided: nothing new. */
    f->flow_end_flags |= FLOW_END_FLAG_TIMEOUT;
    const char *rec = EveRecord(jb, tv, NULL, f);
    CHECK(strstr(rec, "\"k\":5,\"packets\":5") != NULL, "flow record: %s", rec);
    on_flow_finish(tv, f, flow_finish_user);
    FreeFlow(f);
    free(jb);
    FreeSignature(k3);
    FreeSignature(k5);
    FreeSignature(any_label);
    FreeSignature(foreign);
    FreeSignature(never);
    FreeSignature(label_then_k3);
}

/* A probe of a closed port: SYN, then the target's RST. The RST ends the
 * conversation: both verdicts are made on it and rules see it. */
static void CheckClosedPortProbe(ThreadVars *tv)
{
    Signature *k5 = Rule("early.k", "5", NULL, NULL);
    Signature *k3 = Rule("early.score", ">=0", "early.k", "3");
    Flow *f = NewFlow(IPPROTO_TCP);
    TestPacket tp;
    SCJsonBuilder *jb = calloc(1, sizeof(*jb));
    Packet *p = FlowPacket(&tp, f, IPPROTO_TCP, 1, 44, TH_SYN, 0);
    on_flow_init(tv, f, p, flow_init_user);
    on_flow_update(tv, f, p, flow_update_user);
    CHECK(!RuleMatches(k5, p), "no verdict on the SYN");
    p = FlowPacket(&tp, f, IPPROTO_TCP, 0, 40, TH_RST | TH_ACK, 120);
    on_flow_update(tv, f, p, flow_update_user);
    CHECK(RuleMatches(k5, p) && RuleMatches(k3, p), "both k decided on the RST");
    const char *rec = EveRecord(jb, tv, p, f);
    CHECK(strstr(rec, "\"k\":5,\"packets\":2,\"at_flow_end\":true") != NULL, "%s", rec);
    CHECK(JsonValid(rec) != 0, "invalid JSON: %s", rec);
    on_flow_finish(tv, f, flow_finish_user);
    FreeFlow(f);
    free(jb);
    FreeSignature(k5);
    FreeSignature(k3);
}

/* ICMP errors Suricata attaches to a UDP flow are not its packets: two of
 * them after the probe must not make a 3-packet flow. */
static void CheckIcmpErrorsIgnored(ThreadVars *tv)
{
    Signature *k3 = Rule("early.k", "3", NULL, NULL);
    Flow *f = NewFlow(IPPROTO_UDP);
    TestPacket tp;
    SCJsonBuilder *jb = calloc(1, sizeof(*jb));
    Packet *p = FlowPacket(&tp, f, IPPROTO_UDP, 1, 29, 0, 0);
    on_flow_init(tv, f, p, flow_init_user);
    on_flow_update(tv, f, p, flow_update_user);
    for (int i = 0; i < 2; i++) {
        p = FlowPacket(&tp, f, IPPROTO_ICMP, 0, 56, 0, 100u * (uint64_t)(i + 1));
        on_flow_update(tv, f, p, flow_update_user);
        CHECK(!RuleMatches(k3, p), "ICMP error %d", i + 1);
    }
    f->flow_end_flags |= FLOW_END_FLAG_TIMEOUT;
    const char *rec = EveRecord(jb, tv, NULL, f);
    CHECK(strstr(rec, "\"k\":3,\"packets\":1,\"at_flow_end\":true") != NULL,
          "one packet of its own: %s", rec);
    on_flow_finish(tv, f, flow_finish_user);
    FreeFlow(f);
    free(jb);
    FreeSignature(k3);
}

/* Suricata may re-orient a flow after its first packet (FlowSwap: midstream
 * pick-up, protocol detection): FLOW_DIR_REVERSED is set and later packets'
 * to-server flags are flipped. The features must not notice: the same
 * packets give the same verdicts with or without the swap. */
static void CheckReorientedFlow(ThreadVars *tv)
{
    static const struct { int from_first; uint16_t len; uint8_t flags; } pkts[] = {
        {1, 60, TH_SYN}, {0, 60, TH_SYN | TH_ACK}, {1, 52, TH_ACK},
        {0, 900, TH_ACK | TH_PUSH}, {0, 1500, TH_ACK},
    };
    char early[2][1024];
    for (int swap = 0; swap < 2; swap++) {
        Flow *f = NewFlow(IPPROTO_TCP);
        TestPacket tp;
        SCJsonBuilder *jb = calloc(1, sizeof(*jb));
        for (int i = 0; i < 5; i++) {
            int reversed = swap && i > 0;
            int to_server = pkts[i].from_first != reversed;
            Packet *p = FlowPacket(&tp, f, IPPROTO_TCP, to_server, pkts[i].len, pkts[i].flags,
                                   1000u * (uint64_t)i);
            if (i == 0)
                on_flow_init(tv, f, p, flow_init_user);
            on_flow_update(tv, f, p, flow_update_user);
            if (swap && i == 0)
                f->flags |= FLOW_DIR_REVERSED; /* what FlowSwap leaves */
            if (i == 4) {
                const char *rec = EveRecord(jb, tv, p, f);
                const char *e = strstr(rec, "\"early\"");
                snprintf(early[swap], sizeof(early[swap]), "%s", e != NULL ? e : "(none)");
            }
        }
        on_flow_finish(tv, f, flow_finish_user);
        FreeFlow(f);
        free(jb);
    }
    CHECK(strcmp(early[0], "(none)") != 0 && strcmp(early[0], early[1]) == 0,
          "re-orientation changed the verdict:\n  %s\n  %s", early[0], early[1]);
}

/* An unanswered UDP probe: decided when its flow record is written. */
static void CheckTimeoutFlowRecord(ThreadVars *tv, ThreadVars *recycler)
{
    Flow *f = NewFlow(IPPROTO_UDP);
    TestPacket tp;
    SCJsonBuilder *jb = calloc(1, sizeof(*jb));
    Packet *p = FlowPacket(&tp, f, IPPROTO_UDP, 1, 29, 0, 0);
    on_flow_init(tv, f, p, flow_init_user);
    on_flow_update(tv, f, p, flow_update_user);
    CHECK(strstr(EveRecord(jb, tv, p, f), "\"early\"") == NULL, "no verdict yet");
    /* A record without packet for a live flow (no end flags) decides nothing. */
    CHECK(strstr(EveRecord(jb, recycler, NULL, f), "\"early\"") == NULL, "live flow");
    f->flow_end_flags |= FLOW_END_FLAG_TIMEOUT;
    const char *rec = EveRecord(jb, recycler, NULL, f);
    CHECK(strstr(rec, "\"k\":5,\"packets\":1,\"at_flow_end\":true") != NULL &&
              strstr(rec, "\"by_k\":[{\"label\"") != NULL,
          "flow record carries the flow-end verdicts: %s", rec);
    CHECK(JsonValid(rec) != 0, "invalid JSON: %s", rec);
    on_flow_finish(recycler, f, flow_finish_user);
    FreeFlow(f);
    free(jb);
}

/* No flow record: the finish callback makes the verdicts, for the counters. */
static void CheckFinishWithoutRecord(ThreadVars *tv, ThreadVars *recycler)
{
    Flow *f = NewFlow(IPPROTO_UDP);
    TestPacket tp;
    Packet *p = FlowPacket(&tp, f, IPPROTO_UDP, 1, 29, 0, 0);
    on_flow_init(tv, f, p, flow_init_user);
    on_flow_update(tv, f, p, flow_update_user);
    on_flow_finish(recycler, f, flow_finish_user);
    FreeFlow(f);
}

static void CheckNulls(ThreadVars *tv)
{
    SCJsonBuilder *jb = calloc(1, sizeof(*jb));
    TestPacket tp;
    Flow *stateless = NewFlow(IPPROTO_TCP); /* flow init never ran */
    Packet *p = FlowPacket(&tp, stateless, IPPROTO_TCP, 1, 60, TH_SYN, 0);
    CHECK(strcmp(EveRecord(jb, NULL, NULL, NULL), "{\"event_type\":\"flow\"}") == 0, "%s",
          jb->buf);
    CHECK(strcmp(EveRecord(jb, tv, p, NULL), "{\"event_type\":\"alert\"}") == 0, "%s", jb->buf);
    stateless->flow_end_flags |= FLOW_END_FLAG_SHUTDOWN;
    CHECK(strcmp(EveRecord(jb, NULL, NULL, stateless), "{\"event_type\":\"flow\"}") == 0, "%s",
          jb->buf);
    on_flow_update(tv, stateless, p, flow_update_user);
    on_flow_update(NULL, stateless, p, flow_update_user);
    on_flow_update(tv, NULL, p, flow_update_user);
    on_flow_update(tv, stateless, NULL, flow_update_user);
    on_flow_finish(tv, NULL, flow_finish_user);
    on_flow_finish(NULL, stateless, flow_finish_user);
    on_flow_init(tv, NULL, p, flow_init_user);
    on_thread_init(NULL, thread_init_user);
    /* Flow init with no thread (NULL tv) still gives the flow its state. */
    on_flow_init(NULL, stateless, p, flow_init_user);
    CHECK(FlowGetStorageById(stateless, (FlowStorageId){.id = 0}) != NULL, "state");
    Signature *k3 = Rule("early.k", "3", NULL, NULL);
    p->flow = NULL;
    CHECK(!RuleMatches(k3, p), "packet without flow");
    FreeSignature(k3);
    FreeFlow(stateless);
    free(jb);
}

/* The adapter's Init calls exit(EXIT_FAILURE) (FatalError) on a config it
 * refuses; for the main scenario that is a failure, or a skip when the
 * build simply has no built-in models. */
static int in_main_init;

static void MainInitDied(void)
{
    if (!in_main_init)
        return;
    if (Logged(SC_LOG_ERROR, "no built-in model")) {
        printf("SKIP: no built-in models in this build and no K=MODEL_FILE given\n");
        fflush(stdout);
        _exit(77);
    }
    fprintf(stderr, "FAIL: the adapter's Init refused a valid config:\n%s", log_buf);
    _exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s earlyflow-suricata.so [K=MODEL_FILE ...]\n", argv[0]);
        return 2;
    }
    TAILQ_INIT(&conf_root.head);
    sigmatch_table = calloc(FIRST_PLUGIN_KEYWORD + 16, sizeof(SigTableElmt));

    int skip = 0;
    const SCPlugin *plugin = LoadAdapter(argv[1], &skip);
    if (plugin == NULL) {
        if (skip) {
            printf("SKIP: the adapter was built without the engine (core/ids/engine.c)\n");
            return 77;
        }
        return 1;
    }
    CheckRegistration(plugin);

    ExpectInitFails(argv[1], "earlyflow.k", "4", "earlyflow.k");
    ExpectInitFails(argv[1], "earlyflow.models.7", "/tmp/x.safetensors", "earlyflow.models.7");
    ExpectInitFails(argv[1], "earlyflow.min-score", "1.5", "earlyflow.min-score");
    ExpectInitFails(argv[1], "earlyflow.model", "/nonexistent/model.safetensors", "model");

    ConfSet("earlyflow.model", "builtin");
    for (int i = 2; i < argc; i++) {
        char key[64];
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq - argv[i] > 2) {
            fprintf(stderr, "expected K=MODEL_FILE, got '%s'\n", argv[i]);
            return 2;
        }
        snprintf(key, sizeof(key), "earlyflow.models.%.*s", (int)(eq - argv[i]), argv[i]);
        ConfSet(key, eq + 1);
    }
    ConfSet("earlyflow.k.0", "5");
    ConfSet("earlyflow.k.1", "3");
    ConfSet("earlyflow.min-score", "0");
    ConfSet("earlyflow.memcap", "64mb");
    ConfSet("earlyflow.colour", "blue");
    in_main_init = 1;
    atexit(MainInitDied);
    plugin->Init();
    in_main_init = 0;
    CheckInit();

    ThreadVars *tv = calloc(1, sizeof(ThreadVars) + STORAGE_SLOTS * sizeof(Storage));
    ThreadVars *recycler = calloc(1, sizeof(ThreadVars) + STORAGE_SLOTS * sizeof(Storage));
    on_thread_init(tv, thread_init_user);
    on_thread_init(recycler, thread_init_user);
    CHECK(ThreadGetStorageById(tv, (ThreadStorageId){.id = 0}) != NULL, "thread state");

    CheckKeywordSetup();
    CheckLongFlow(tv);
    CheckClosedPortProbe(tv);
    CheckIcmpErrorsIgnored(tv);
    CheckReorientedFlow(tv);
    CheckTimeoutFlowRecord(tv, recycler);
    CheckFinishWithoutRecord(tv, recycler);
    CheckNulls(tv);

    /* Suricata's ThreadFreeStorage at shutdown: the adapter logs its counts. */
    LogClear();
    thread_free[0](ThreadGetStorageById(tv, (ThreadStorageId){.id = 0}));
    CHECK(Logged(SC_LOG_INFO, "earlyflow: 10 verdicts (0 made after"), "worker: %s", log_buf);
    thread_free[0](ThreadGetStorageById(recycler, (ThreadStorageId){.id = 0}));
    CHECK(Logged(SC_LOG_INFO, "earlyflow: 4 verdicts (2 made after"), "recycler: %s", log_buf);
    free(tv);
    free(recycler);
    free(sigmatch_table);

    if (failures == 0)
        printf("OK: earlyflow-suricata.so driven through Suricata 8.0's plugin API by a "
               "stand-in host\n");
    return failures == 0 ? 0 : 1;
}
