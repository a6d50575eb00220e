/* kafka_source.c -- Kafka messages to events, per partition; see kafka_source.h. */
#include "kafka_source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One lane per format seen in a partition; usually one or two (JSON, text). */
#define MAX_LANES 8
/* Detection is cached per partition by the message's first bytes: the records of one
 * producer start alike ('{"timestamp":', '2026-11-24 ', '{"log":"'), so bidding runs
 * once per shape instead of once per message. Only confident winners are cached: a
 * weak bid (plain text, a JSON object the JSON parser refused) is asked again. */
#define DETECT_SLOTS 4
#define DETECT_PREFIX 8
#define DETECT_CACHE_MIN_BID 16

struct lmap_ent {              /* the message whose lines start at first_line */
    uint64_t first_line;
    int64_t offset;
    int64_t ts_ns;
    bool has_ts;
    uint8_t tid_len;
    char tid[32];
};

struct lane {
    struct kpart *part;
    const struct parser *parser;
    void *st;
    uint64_t next_line;        /* line number the next message starts at */
    struct lmap_ent *map;      /* messages whose lines may still produce events */
    size_t head, len, cap;
    int64_t held_offset;       /* first message with held lines; -1 none */
};

struct detect_slot {
    char prefix[DETECT_PREFIX];
    uint8_t n;
    const struct parser *parser;
};

struct kpart {
    struct ksrc *src;
    char *topic;
    int32_t partition;
    char *name;                /* "kafka:TOPIC/PARTITION" */
    struct lane lanes[MAX_LANES];
    size_t nlanes;
    struct detect_slot detect[DETECT_SLOTS];
    unsigned detect_next;
    int64_t next_offset;       /* after the last message fed; -1 none */
    struct kpart_stats stats;
    struct kpart_user user;
};

struct ksrc {
    struct ksrc_config cfg;
    struct kpart **parts;
    size_t nparts, cap;
    struct kpart *last;        /* lookup cache */
    /* the message being fed */
    struct lane *cur_lane;
    uint64_t cur_first, cur_last;
    struct kfeed_result *cur_res;
    char *srcbuf;              /* "kafka:TOPIC/PARTITION@OFFSET" of the event being emitted */
    size_t srcbuf_cap;
};

struct ksrc *ksrc_create(const struct ksrc_config *cfg)
{
    struct ksrc *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cfg = *cfg;
    if (s->cfg.limits == NULL)
        s->cfg.limits = &parse_limits_default;
    if (s->cfg.max_message == 0)
        s->cfg.max_message = s->cfg.limits->max_record;
    return s;
}

/* ---- the line map ---- */

static int map_push(struct lane *l, const struct lmap_ent *e)
{
    if (l->head + l->len == l->cap) {
        if (l->head > 0) {
            memmove(l->map, l->map + l->head, l->len * sizeof(*l->map));
            l->head = 0;
        } else {
            size_t cap = l->cap ? l->cap * 2 : 16;
            struct lmap_ent *nm = realloc(l->map, cap * sizeof(*nm));
            if (nm == NULL)
                return -1;
            l->map = nm;
            l->cap = cap;
        }
    }
    l->map[l->head + l->len++] = *e;
    return 0;
}

/* The message that carried line; NULL when the map is empty. */
static const struct lmap_ent *map_find(const struct lane *l, uint64_t line)
{
    if (l->len == 0)
        return NULL;
    const struct lmap_ent *m = l->map + l->head;
    if (line == 0 || m[l->len - 1].first_line <= line)
        return &m[l->len - 1]; /* the common case: the message being fed */
    size_t lo = 0, hi = l->len - 1; /* answer in [lo, hi) or 0 */
    while (lo + 1 < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].first_line <= line)
            lo = mid;
        else
            hi = mid;
    }
    return &m[lo];
}

/* Forget the messages before the one holding line held (all when held is 0). */
static void map_trim(struct lane *l, uint64_t held)
{
    if (held == 0) {
        l->head = l->len = 0;
        l->held_offset = -1;
        return;
    }
    const struct lmap_ent *e = map_find(l, held);
    if (e == NULL) {
        l->held_offset = -1;
        return;
    }
    size_t idx = (size_t)(e - l->map);
    l->len -= idx - l->head;
    l->head = idx;
    l->held_offset = e->offset;
}

/* ---- callbacks the parsers see ---- */

static const char *source_of(struct ksrc *s, const struct kpart *p, int64_t offset)
{
    size_t need = strlen(p->name) + 24;
    if (need > s->srcbuf_cap) {
        char *nb = realloc(s->srcbuf, need);
        if (nb == NULL)
            return p->name;
        s->srcbuf = nb;
        s->srcbuf_cap = need;
    }
    snprintf(s->srcbuf, s->srcbuf_cap, "%s@%" PRId64, p->name, offset);
    return s->srcbuf;
}

static int lane_emit(void *ctx, const struct event *ev)
{
    struct lane *l = ctx;
    struct kpart *p = l->part;
    struct ksrc *s = p->src;
    const struct lmap_ent *e = map_find(l, ev->src.line);
    struct event copy = *ev;
    copy.src.stream = p->name;
    copy.src.line = 0;
    if (e != NULL) {
        copy.src.line = (uint64_t)e->offset + 1;
        if (!ev_str_present(copy.trace_id) && e->tid_len > 0)
            copy.trace_id = ev_str_make(e->tid, e->tid_len);
        if (!copy.has_ts && e->has_ts) {
            copy.has_ts = true;
            copy.ts_ns = e->ts_ns;
        }
    }
    p->stats.events++;
    if (ev->kind == EV_EXCEPTION)
        p->stats.exceptions++;
    return s->cfg.sink(s->cfg.sink_ctx, &copy);
}

static void lane_diag(void *ctx, const char *stream, uint64_t line, const char *reason)
{
    (void)stream;
    struct lane *l = ctx;
    struct kpart *p = l->part;
    struct ksrc *s = p->src;
    p->stats.malformed++;
    /* About the message being fed: it is poison. About an earlier one (a traceback
     * that never ended): reported, but that message is long gone. */
    if (s->cur_lane == l && s->cur_res != NULL && (line == 0 || (line >= s->cur_first && line <= s->cur_last)) &&
        !s->cur_res->poison) {
        s->cur_res->poison = true;
        snprintf(s->cur_res->reason, sizeof(s->cur_res->reason), "%s", reason);
    }
    if (s->cfg.diag != NULL) {
        const struct lmap_ent *e = map_find(l, line);
        s->cfg.diag(s->cfg.diag_ctx, e ? source_of(s, p, e->offset) : p->name, reason);
    }
}

/* ---- partitions ---- */

static void lane_close(struct lane *l)
{
    if (l->parser != NULL)
        l->parser->close(l->st);
    free(l->map);
    memset(l, 0, sizeof(*l));
    l->held_offset = -1;
}

static void part_free(struct kpart *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nlanes; i++)
        lane_close(&p->lanes[i]);
    free(p->topic);
    free(p->name);
    free(p);
}

void ksrc_destroy(struct ksrc *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nparts; i++)
        part_free(s->parts[i]);
    free(s->parts);
    free(s->srcbuf);
    free(s);
}

struct kpart *ksrc_partition(struct ksrc *s, const char *topic, int32_t partition, bool create)
{
    struct kpart *p = s->last;
    if (p != NULL && p->partition == partition && strcmp(p->topic, topic) == 0)
        return p;
    for (size_t i = 0; i < s->nparts; i++) {
        p = s->parts[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            s->last = p;
            return p;
        }
    }
    if (!create)
        return NULL;
    if (s->nparts == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct kpart **np = realloc(s->parts, cap * sizeof(*np));
        if (np == NULL)
            return NULL;
        s->parts = np;
        s->cap = cap;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    size_t tl = strlen(topic);
    p->topic = strdup(topic);
    p->name = malloc(tl + 24);
    if (p->topic == NULL || p->name == NULL) {
        part_free(p);
        return NULL;
    }
    snprintf(p->name, tl + 24, "kafka:%s/%" PRId32, topic, partition);
    p->src = s;
    p->partition = partition;
    p->next_offset = -1;
    p->user.stored = -1;
    p->user.high = -1;
    s->parts[s->nparts++] = p;
    s->last = p;
    return p;
}

struct kpart *ksrc_partition_at(struct ksrc *s, size_t i) { return i < s->nparts ? s->parts[i] : NULL; }

void ksrc_remove(struct ksrc *s, struct kpart *p)
{
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i] == p) {
            memmove(s->parts + i, s->parts + i + 1, (s->nparts - i - 1) * sizeof(*s->parts));
            s->nparts--;
            break;
        }
    if (s->last == p)
        s->last = NULL;
    part_free(p);
}

static const struct parser *detect(struct kpart *p, const char *buf, size_t len)
{
    uint8_t n = (uint8_t)(len < DETECT_PREFIX ? len : DETECT_PREFIX);
    for (unsigned i = 0; i < DETECT_SLOTS; i++) {
        const struct detect_slot *d = &p->detect[i];
        if (d->parser != NULL && d->n == n && memcmp(d->prefix, buf, n) == 0)
            return d->parser;
    }
    int bid = 0;
    const struct parser *par = parser_detect(buf, len, true, &bid);
    if (par != NULL && bid >= DETECT_CACHE_MIN_BID && n == DETECT_PREFIX) {
        struct detect_slot *d = &p->detect[p->detect_next++ % DETECT_SLOTS];
        memcpy(d->prefix, buf, n);
        d->n = n;
        d->parser = par;
    }
    return par;
}

static struct lane *lane_for(struct kpart *p, const struct parser *par)
{
    for (size_t i = 0; i < p->nlanes; i++)
        if (p->lanes[i].parser == par)
            return &p->lanes[i];
    if (p->nlanes == MAX_LANES)
        return NULL;
    struct lane *l = &p->lanes[p->nlanes];
    memset(l, 0, sizeof(*l));
    l->part = p;
    l->held_offset = -1;
    l->next_line = 1;
    struct parser_env env = {
        .stream = p->name,
        .emit = lane_emit,
        .emit_ctx = l,
        .diag = lane_diag,
        .diag_ctx = l,
        .map = p->src->cfg.map,
        .limits = p->src->cfg.limits,
    };
    l->st = par->open(&env);
    if (l->st == NULL)
        return NULL;
    l->parser = par;
    p->nlanes++;
    return l;
}

static void poison(struct ksrc *s, struct kpart *p, const struct kmsg *m, struct kfeed_result *res,
                   const char *reason)
{
    res->poison = true;
    snprintf(res->reason, sizeof(res->reason), "%s", reason);
    p->stats.malformed++;
    if (s->cfg.diag != NULL)
        s->cfg.diag(s->cfg.diag_ctx, source_of(s, p, m->offset), reason);
}

int ksrc_feed(struct ksrc *s, struct kpart *p, const struct kmsg *m, struct kfeed_result *res)
{
    memset(res, 0, sizeof(*res));
    p->stats.messages++;
    p->stats.bytes += m->len;
    int rc = 0;
    if (m->payload == NULL) {
        /* A tombstone (null value): nothing to read. */
    } else if (m->len > s->cfg.max_message) {
        char why[96];
        snprintf(why, sizeof(why), "message of %zu bytes, over the limit of %zu: skipped", m->len,
                 s->cfg.max_message);
        poison(s, p, m, res, why);
    } else {
        const struct parser *par = detect(p, m->payload, m->len);
        struct lane *l = par ? lane_for(p, par) : NULL;
        if (par == NULL) {
            poison(s, p, m, res, "unrecognized format (binary data?): skipped");
        } else if (l == NULL) {
            rc = -1;
        } else {
            bool ends_nl = m->len > 0 && m->payload[m->len - 1] == '\n';
            uint64_t lines = 0;
            for (const char *q = m->payload, *end = m->payload + m->len;
                 (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
                lines++;
            if (!ends_nl)
                lines++;
            struct lmap_ent e = {.first_line = l->next_line, .offset = m->offset, .ts_ns = m->ts_ns,
                                 .has_ts = m->has_ts};
            if (m->trace_id != NULL && m->trace_id_len > 0 && m->trace_id_len <= sizeof(e.tid)) {
                memcpy(e.tid, m->trace_id, m->trace_id_len);
                e.tid_len = (uint8_t)m->trace_id_len;
            }
            if (map_push(l, &e) != 0) {
                rc = -1;
            } else {
                s->cur_lane = l;
                s->cur_first = l->next_line;
                s->cur_last = l->next_line + lines - 1;
                s->cur_res = res;
                rc = par->feed(l->st, m->payload, m->len);
                if (rc == 0 && !ends_nl)
                    rc = par->feed(l->st, "\n", 1);
                s->cur_lane = NULL;
                s->cur_res = NULL;
                l->next_line += lines;
                map_trim(l, par->held_from ? par->held_from(l->st) : 0);
            }
        }
    }
    if (res->poison)
        p->stats.poison++;
    p->next_offset = m->offset + 1;
    return rc;
}

int ksrc_finish(struct ksrc *s, struct kpart *p)
{
    (void)s;
    int rc = 0;
    for (size_t i = 0; i < p->nlanes; i++) {
        struct lane *l = &p->lanes[i];
        int r = l->parser->finish(l->st);
        if (r != 0 && rc == 0)
            rc = r;
        lane_close(l);
    }
    p->nlanes = 0;
    return rc;
}

int64_t kpart_safe_offset(const struct kpart *p)
{
    int64_t o = p->next_offset;
    for (size_t i = 0; i < p->nlanes; i++)
        if (p->lanes[i].held_offset >= 0 && p->lanes[i].held_offset < o)
            o = p->lanes[i].held_offset;
    return o;
}

int64_t kpart_next_offset(const struct kpart *p) { return p->next_offset; }

bool kpart_holds(const struct kpart *p)
{
    for (size_t i = 0; i < p->nlanes; i++)
        if (p->lanes[i].held_offset >= 0)
            return true;
    return false;
}

const char *kpart_topic(const struct kpart *p) { return p->topic; }
int32_t kpart_partition(const struct kpart *p) { return p->partition; }
const char *kpart_name(const struct kpart *p) { return p->name; }
const struct kpart_stats *kpart_stats(const struct kpart *p) { return &p->stats; }
struct kpart_user *kpart_user(struct kpart *p) { return &p->user; }

static void fix_source(json_t *src)
{
    const char *stream = json_string_value(json_object_get(src, "stream"));
    json_t *line = json_object_get(src, "line");
    if (stream == NULL || strncmp(stream, "kafka:", 6) != 0 || !json_is_integer(line) || json_integer_value(line) < 1)
        return;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s@%" PRId64, stream, (int64_t)json_integer_value(line) - 1);
    json_object_set_new(src, "stream", json_string(buf));
    json_object_del(src, "line");
}

void kafka_source_json(json_t *finding)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(finding, "sources"), i, v)
        fix_source(v);
    json_t *ev = json_object_get(finding, "evidence");
    json_array_foreach(json_object_get(ev, "timeline"), i, v)
        fix_source(json_object_get(v, "source"));
}
