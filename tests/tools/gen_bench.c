/* gen_bench -- deterministic benchmark input for `make bench`.
 *
 *   gen_bench --format jsonl|text --size-mb N [--seed S] -o FILE
 *
 * Writes about N MB (10^6 bytes; the record that crosses the limit is finished) of a
 * simulated shop's logs: python-json-logger lines (jsonl) or the same record stream
 * as a Python `logging` text log with tracebacks printed after ERROR lines (text).
 * About 3% of records are ERRORs carrying a CPython 3.11 traceback, a third of them
 * chained, drawn from ~30 exception shapes so that fingerprints repeat the way they do
 * in production while the messages carry varying ids.
 *
 * The output depends only on the arguments: the generator has its own PRNG (rand()
 * differs between libcs) and never reads the clock. It formats by hand into one large
 * buffer because printf per field would make generating 2 GB slower than the program
 * being measured. A summary (records, errors, ...) goes to stderr so that bench.sh
 * can compute records/s without parsing the file again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: splitmix64 seeds xoshiro256**, both public-domain reference algorithms. */

static uint64_t rng_s[4];

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
    uint64_t r = rotl(rng_s[1] * 5, 7) * 9;
    uint64_t t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return r;
}

static void rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng_s[i] = splitmix64(&seed);
}

/* Uniform in [0, n). The modulo bias is irrelevant at these ranges and keeping it
 * makes the stream trivially reproducible across platforms. */
static uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

/* ---- Output buffer: one big buffer, flushed with fwrite when nearly full. */

#define OUT_CAP (4u << 20)
#define OUT_SLACK (256u << 10) /* larger than any single record we build */

static char *ob;
static size_t ob_len;
static uint64_t ob_total;
static FILE *ob_file;

static void ob_flush(void)
{
    if (ob_len && fwrite(ob, 1, ob_len, ob_file) != ob_len) {
        fprintf(stderr, "gen_bench: write failed: %s\n", strerror(errno));
        exit(1);
    }
    ob_total += ob_len;
    ob_len = 0;
}

/* Called once per record: a record never exceeds OUT_SLACK, so the appenders below can
 * skip per-call bounds checks. */
static void ob_record_begin(void)
{
    if (ob_len > OUT_CAP - OUT_SLACK)
        ob_flush();
}

static void put_mem(const char *s, size_t n)
{
    memcpy(ob + ob_len, s, n);
    ob_len += n;
}

static void put_str(const char *s)
{
    put_mem(s, strlen(s));
}

static void put_ch(char c)
{
    ob[ob_len++] = c;
}

static void put_u64(uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_mem(tmp + i, sizeof tmp - i);
}

/* Fixed-width zero-padded decimal (timestamps). */
static void put_dec(uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        ob[ob_len + (size_t)i] = (char)('0' + v % 10);
        v /= 10;
    }
    ob_len += (size_t)width;
}

static void put_hex(uint64_t v, int digits)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        ob[ob_len + (size_t)i] = hx[v & 15];
        v >>= 4;
    }
    ob_len += (size_t)digits;
}

/* "12.34": durations in ms as python-json-logger prints a rounded float. */
static void put_ms(uint64_t hundredths)
{
    put_u64(hundredths / 100);
    put_ch('.');
    put_dec(hundredths % 100, 2);
}

/* JSON string body escaping; the traceback text holds quotes, backslashes and
 * newlines, which is exactly what makes the field expensive to scan. */
static void put_json_escaped(const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': put_mem("\\\"", 2); break;
        case '\\': put_mem("\\\\", 2); break;
        case '\n': put_mem("\\n", 2); break;
        case '\t': put_mem("\\t", 2); break;
        default:
            if (c < 0x20) {
                put_mem("\\u00", 4);
                put_ch(hx[c >> 4]);
                put_ch(hx[c & 15]);
            } else {
                put_ch((char)c);
            }
        }
    }
}

/* ---- Scratch text (messages, tracebacks) built before it is escaped or copied. */

static char scratch[128u << 10];
static size_t sc_len;

static void sc_mem(const char *s, size_t n)
{
    if (sc_len + n >= sizeof scratch) {
        fprintf(stderr, "gen_bench: internal: scratch overflow\n");
        exit(1);
    }
    memcpy(scratch + sc_len, s, n);
    sc_len += n;
}

static void sc_str(const char *s)
{
    sc_mem(s, strlen(s));
}

static void sc_u64(uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sc_mem(tmp + i, sizeof tmp - i);
}

static void sc_rep(char c, size_t n)
{
    if (sc_len + n >= sizeof scratch) {
        fprintf(stderr, "gen_bench: internal: scratch overflow\n");
        exit(1);
    }
    memset(scratch + sc_len, c, n);
    sc_len += n;
}

/* Templates use '@' for the record's id (order number etc.) and '#' for a small
 * number, so messages vary per record while the shape stays the same. We expand them
 * ourselves instead of passing non-literal formats to printf. */
static void sc_template(const char *t, uint64_t id, uint64_t small)
{
    for (const char *p = t; *p; p++) {
        if (*p == '@')
            sc_u64(id);
        else if (*p == '#')
            sc_u64(small);
        else
            sc_mem(p, 1);
    }
}

/* ---- Exception shapes. */

struct frame {
    const char *file;
    int line;
    const char *func;
    const char *code;
    /* NULL: derive the 3.11 caret line from the code (see sc_caret); "": none;
     * otherwise the caret line as printed, including its indentation. */
    const char *caret;
};

struct segment {
    const char *type;
    const char *msg; /* NULL: the exception line is the bare type, as for `raise AssertionError` */
    const struct frame *frames; /* terminated by file == NULL */
};

#define F(file, line, func, code) { file, line, func, code, NULL }
#define FC(file, line, func, code, caret) { file, line, func, code, caret }
#define END { NULL, 0, NULL, NULL, NULL }

#define APP "/opt/app/svc/"
#define LIB "/usr/lib/python3.11/"
#define SITE "/opt/app/venv/lib/python3.11/site-packages/"

enum {
    S_KEYERR, S_CONNRESET, S_PAYFAIL, S_CONNREFUSED, S_RETRYTIMEOUT, S_INVUNAVAIL, S_JSONDEC,
    S_CONFIG, S_INDEX, S_ZERODIV, S_ATTRNONE, S_INTPARSE, S_TYPEADD, S_SQLA, S_PSYCOPG,
    S_REDIS, S_HTTPXTIMEOUT, S_PERM, S_NOFILE, S_UNICODE, S_VALIDATION, S_DICTCHANGED,
    S_RETRYEXH, S_SMTP, S_NOSPACE, S_EXPORT, S_ASSERT, S_DECIMAL, S_DATAERR, S_HANDLERBUG,
    S_COUNT
};

static const struct segment segments[S_COUNT] = {
    [S_KEYERR] = { "KeyError", "'sku-@'", (const struct frame[]){
        F(APP "orders/api.py", 88, "add_to_cart", "cart.add(payload[\"sku\"], payload[\"qty\"])"),
        F(APP "orders/cart.py", 41, "add", "price = self.catalog.prices[sku]"),
        END } },
    [S_CONNRESET] = { "ConnectionResetError", "payment gateway closed connection (order @)",
        (const struct frame[]){
        F(APP "order_api.py", 80, "checkout", "return self.payments.charge(order_id, rec[\"qty\"] * 10)"),
        F(APP "order_api.py", 55, "charge",
          "raise ConnectionResetError(f\"payment gateway closed connection (order {order_id})\")"),
        END } },
    [S_PAYFAIL] = { "mypkg.errors.ServiceUnavailable", "payment failed for order @",
        (const struct frame[]){
        F(APP "order_api.py", 128, "main", "charge = svc.checkout(1000 + i, payload)"),
        F(APP "order_api.py", 82, "checkout",
          "raise ServiceUnavailable(f\"payment failed for order {order_id}\") from exc"),
        END } },
    [S_CONNREFUSED] = { "ConnectionRefusedError", "[Errno 111] Connection refused",
        (const struct frame[]){
        F(APP "mypkg/client.py", 26, "stock_level", "conn = self._connect()"),
        F(APP "mypkg/client.py", 14, "_connect",
          "sock = socket.create_connection((self.host, self.port), timeout=0.5)"),
        F(LIB "socket.py", 851, "create_connection", "raise exceptions[0]"),
        F(LIB "socket.py", 836, "create_connection", "sock.connect(sa)"),
        END } },
    [S_RETRYTIMEOUT] = { "TimeoutError", "gave up on 10.0.3.#:5432 after 3 attempts",
        (const struct frame[]){
        F(APP "mypkg/client.py", 35, "reserve", "return self.stock_level(sku) >= qty"),
        F(APP "mypkg/client.py", 29, "stock_level", "self._retry(attempt, exc)"),
        F(APP "mypkg/client.py", 19, "_retry",
          "raise TimeoutError(f\"gave up on {self.host}:{self.port} after {attempt} attempts\")"),
        END } },
    [S_INVUNAVAIL] = { "mypkg.errors.ServiceUnavailable",
        "inventory unavailable while reserving # x sku-@", (const struct frame[]){
        F(APP "inventory/worker.py", 161, "<module>", "sys.exit(main())"),
        F(APP "inventory/worker.py", 155, "main", "result = SCENARIOS[args.scenario](args)"),
        F(APP "inventory/worker.py", 74, "run_reserve", "return client.reserve(sku, qty)"),
        F(APP "mypkg/client.py", 37, "reserve",
          "raise ServiceUnavailable(f\"inventory unavailable while reserving {qty} x {sku}\") from err"),
        END } },
    [S_JSONDEC] = { "json.decoder.JSONDecodeError",
        "Expecting property name enclosed in double quotes: line 1 column # (char @)",
        (const struct frame[]){
        F(APP "gateway.py", 39, "handle", "body = json.loads(request[\"body\"])"),
        F(LIB "json/__init__.py", 346, "loads", "return _default_decoder.decode(s)"),
        F(LIB "json/decoder.py", 337, "decode", "obj, end = self.raw_decode(s, idx=_w(s, 0).end())"),
        F(LIB "json/decoder.py", 353, "raw_decode", "obj, end = self.scan_once(s, idx)"),
        END } },
    [S_CONFIG] = { "mypkg.errors.ConfigError", "invalid configuration in /etc/shop/worker-#.json",
        (const struct frame[]){
        F(APP "gateway.py", 61, "reload", "cfg = config.parse_config(text, path)"),
        F(APP "mypkg/config.py", 12, "parse_config",
          "raise ConfigError(f\"invalid configuration in {source}\")"),
        END } },
    [S_INDEX] = { "IndexError", "list index out of range", (const struct frame[]){
        F(APP "gateway.py", 128, "dispatch", "return app(request)"),
        F(APP "mypkg/middleware.py", 12, "__call__", "return self.next(request)"),
        F(APP "mypkg/middleware.py", 18, "__call__", "return self.next(request)"),
        F(APP "mypkg/middleware.py", 24, "__call__", "return self.next(request)"),
        F(APP "mypkg/middleware.py", 30, "__call__", "return self.next(request)"),
        FC(APP "gateway.py", 123, "terminal_handler", "return request[\"payload\"][\"items\"][0]",
           "           ~~~~~~~~~~~~~~~~~~~~~~~~~~~^^^"),
        END } },
    [S_ZERODIV] = { "ZeroDivisionError", "division by zero", (const struct frame[]){
        F(APP "orders/api.py", 102, "quote", "total = sum(records.line_total(r) for r in lines)"),
        F(APP "orders/api.py", 102, "<genexpr>", "total = sum(records.line_total(r) for r in lines)"),
        FC(APP "mypkg/records.py", 33, "line_total",
           "return record[\"qty\"] * record[\"unit_price\"] / record[\"pack_size\"]",
           "           ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~^~~~~~~~~~~~~~~~~~~~~"),
        END } },
    [S_ATTRNONE] = { "AttributeError", "'NoneType' object has no attribute 'country_code'",
        (const struct frame[]){
        F(APP "orders/shipping.py", 57, "quote_shipping", "zone = zone_for(order)"),
        FC(APP "orders/shipping.py", 34, "zone_for", "return order[\"shipping\"].country_code.upper()",
           "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"),
        END } },
    [S_INTPARSE] = { "ValueError", "invalid literal for int() with base 10: 'qty-@'",
        (const struct frame[]){
        F(APP "orders/api.py", 71, "parse_line", "qty = int(raw[\"qty\"])"),
        END } },
    [S_TYPEADD] = { "TypeError", "unsupported operand type(s) for +: 'int' and 'NoneType'",
        (const struct frame[]){
        F(APP "orders/api.py", 140, "summarize", "totals = self._totals(order)"),
        FC(APP "orders/api.py", 133, "_totals", "subtotal = subtotal + line.get(\"discount\")",
           "               ~~~~~~~~~^~~~~~~~~~~~~~~~~~~~~~~~~"),
        END } },
    [S_SQLA] = { "sqlalchemy.exc.OperationalError",
        "(psycopg2.OperationalError) server closed the connection unexpectedly (order @)",
        (const struct frame[]){
        F(APP "orders/repo.py", 48, "save", "self.session.commit()"),
        F(SITE "sqlalchemy/orm/session.py", 1969, "commit", "trans.commit(_to_root=True)"),
        F(SITE "sqlalchemy/engine/base.py", 2339, "_handle_dbapi_exception",
          "raise sqlalchemy_exception.with_traceback(exc_info[2]) from e"),
        END } },
    [S_PSYCOPG] = { "psycopg2.OperationalError", "server closed the connection unexpectedly",
        (const struct frame[]){
        F(SITE "sqlalchemy/engine/base.py", 1965, "_exec_single_context",
          "self.dialect.do_execute("),
        F(SITE "sqlalchemy/engine/default.py", 921, "do_execute",
          "cursor.execute(statement, parameters)"),
        END } },
    [S_REDIS] = { "redis.exceptions.ConnectionError",
        "Error 111 connecting to redis-#.cache:6379. Connection refused.", (const struct frame[]){
        F(APP "notifier/queue.py", 22, "enqueue", "self.redis.rpush(self.key, payload)"),
        F(SITE "redis/commands/core.py", 2711, "rpush",
          "return self.execute_command(\"RPUSH\", name, *values)"),
        F(SITE "redis/client.py", 1266, "execute_command", "conn = self.connection or pool.get_connection(command_name, **options)"),
        F(SITE "redis/connection.py", 707, "connect", "raise ConnectionError(self._error_message(e))"),
        END } },
    [S_HTTPXTIMEOUT] = { "httpx.ReadTimeout", "timed out after # ms (request @)",
        (const struct frame[]){
        F(APP "payments/gateway_client.py", 64, "authorize", "resp = self.http.post(url, json=body)"),
        F(SITE "httpx/_client.py", 1146, "post", "return self.request("),
        F(SITE "httpx/_transports/default.py", 83, "map_httpcore_exceptions",
          "raise mapped_exc(message) from exc"),
        END } },
    [S_PERM] = { "PermissionError", "[Errno 13] Permission denied: '/var/lib/shop/export-@.csv'",
        (const struct frame[]){
        F(APP "reports/export.py", 30, "write_csv", "with open(path, \"w\", newline=\"\") as fh:"),
        END } },
    [S_NOFILE] = { "FileNotFoundError", "[Errno 2] No such file or directory: '/srv/uploads/@.png'",
        (const struct frame[]){
        F(APP "media/thumbs.py", 19, "make_thumb", "img = Image.open(src)"),
        F(SITE "PIL/Image.py", 3243, "open", "fp = builtins.open(filename, \"rb\")"),
        END } },
    [S_UNICODE] = { "UnicodeDecodeError",
        "'utf-8' codec can't decode byte 0xff in position #: invalid start byte",
        (const struct frame[]){
        F(APP "ingest/reader.py", 44, "read_batch", "text = raw.decode(\"utf-8\")"),
        END } },
    [S_VALIDATION] = { "mypkg.errors.ValidationError", "order @ has no valid line items",
        (const struct frame[]){
        F(APP "orders/api.py", 75, "parse_line", "raise ValidationError(f\"order {order_id} has no valid line items\")"),
        END } },
    [S_DICTCHANGED] = { "RuntimeError", "dictionary changed size during iteration",
        (const struct frame[]){
        F(APP "inventory/cache.py", 52, "expire", "for key, entry in self.entries.items():"),
        END } },
    [S_RETRYEXH] = { "mypkg.errors.RetryExhausted", "notify failed for order @ after 5 attempts",
        (const struct frame[]){
        F(APP "notifier/worker.py", 90, "run", "self.deliver(job)"),
        F(APP "notifier/worker.py", 71, "deliver",
          "raise RetryExhausted(f\"notify failed for order {job.order_id} after {n} attempts\")"),
        END } },
    [S_SMTP] = { "smtplib.SMTPServerDisconnected", "Connection unexpectedly closed",
        (const struct frame[]){
        F(APP "notifier/worker.py", 64, "deliver", "self.mailer.send_message(msg)"),
        F(LIB "smtplib.py", 986, "send_message", "return self.sendmail(from_addr, to_addrs, flatmsg, mail_options,"),
        F(LIB "smtplib.py", 405, "getreply", "raise SMTPServerDisconnected(\"Connection unexpectedly closed\")"),
        END } },
    [S_NOSPACE] = { "OSError", "[Errno 28] No space left on device", (const struct frame[]){
        F(APP "reports/export.py", 36, "write_csv", "writer.writerows(rows)"),
        END } },
    [S_EXPORT] = { "mypkg.errors.ExportFailed", "export @ failed", (const struct frame[]){
        F(APP "reports/scheduler.py", 58, "run_job", "exporter.run(job)"),
        F(APP "reports/export.py", 81, "run", "raise ExportFailed(f\"export {job.id} failed\") from exc"),
        END } },
    [S_ASSERT] = { "AssertionError", NULL, (const struct frame[]){
        F(APP "inventory/stock.py", 97, "release", "assert self.reserved >= qty"),
        END } },
    [S_DECIMAL] = { "decimal.InvalidOperation", "[<class 'decimal.ConversionSyntax'>]",
        (const struct frame[]){
        F(APP "payments/money.py", 15, "parse_amount", "return Decimal(text.replace(\",\", \".\"))"),
        END } },
    [S_DATAERR] = { "mypkg.errors.DataError", "could not parse record @", (const struct frame[]){
        F(APP "ingest/reader.py", 120, "run", "for batch in self.batches():"),
        F(APP "ingest/reader.py", 49, "read_batch", "raise DataError(f\"could not parse record {rec_id}\") from exc"),
        END } },
    [S_HANDLERBUG] = { "UnboundLocalError",
        "cannot access local variable 'price' where it is not associated with a value",
        (const struct frame[]){
        F(APP "orders/api.py", 92, "add_to_cart", "log.warning(\"unknown sku %s at %s\", sku, price)"),
        END } },
};

enum { REL_ROOT, REL_CAUSE, REL_CONTEXT };

struct shape {
    int n;
    int seg[3];
    int rel[3]; /* how segment i relates to segment i-1 */
    int logger;  /* index into loggers[] */
    const char *msg;
};

/* Loggers; the pid stands in for the process of each service in the text format. */
struct logger {
    const char *name;
    unsigned pid;
};
static const struct logger loggers[] = {
    { "gateway.http", 8655 }, { "orders.api", 8702 }, { "orders.db", 8702 },
    { "payments.client", 8731 }, { "inventory.stock", 8760 }, { "notifier.mail", 8794 },
    { "reports.export", 8811 }, { "ingest.reader", 8840 },
};
enum { L_GATEWAY, L_ORDERS, L_ORDERSDB, L_PAYMENTS, L_INVENTORY, L_NOTIFIER, L_REPORTS, L_INGEST };

#define SH1(s, lg, m) { 1, { s, 0, 0 }, { REL_ROOT, 0, 0 }, lg, m }
#define SH2(a, r, b, lg, m) { 2, { a, b, 0 }, { REL_ROOT, r, 0 }, lg, m }
#define SH3(a, r1, b, r2, c, lg, m) { 3, { a, b, c }, { REL_ROOT, r1, r2 }, lg, m }

static const struct shape singles[] = {
    SH1(S_KEYERR, L_ORDERS, "unhandled error in add_to_cart for request @"),
    SH1(S_CONNRESET, L_PAYMENTS, "charge failed for order @"),
    SH1(S_CONNREFUSED, L_INVENTORY, "stock lookup failed"),
    SH1(S_JSONDEC, L_GATEWAY, "malformed request body"),
    SH1(S_INDEX, L_GATEWAY, "POST /api/orders 500 unhandled error for request @"),
    SH1(S_ZERODIV, L_ORDERS, "quote failed for order @"),
    SH1(S_ATTRNONE, L_ORDERS, "shipping quote failed for order @"),
    SH1(S_INTPARSE, L_ORDERS, "bad line item in order @"),
    SH1(S_TYPEADD, L_ORDERS, "summary failed for order @"),
    SH1(S_SQLA, L_ORDERSDB, "commit failed for order @"),
    SH1(S_REDIS, L_NOTIFIER, "could not queue confirmation for order @"),
    SH1(S_HTTPXTIMEOUT, L_PAYMENTS, "authorization timed out for order @"),
    SH1(S_PERM, L_REPORTS, "export @ could not be written"),
    SH1(S_NOFILE, L_GATEWAY, "thumbnail for upload @ failed"),
    SH1(S_UNICODE, L_INGEST, "undecodable batch @"),
    SH1(S_VALIDATION, L_ORDERS, "rejected order @"),
    SH1(S_DICTCHANGED, L_INVENTORY, "cache expiry crashed"),
    SH1(S_NOSPACE, L_REPORTS, "export @ aborted"),
    SH1(S_ASSERT, L_INVENTORY, "release of reservation @ failed"),
    SH1(S_DECIMAL, L_PAYMENTS, "bad amount in charge @"),
};

static const struct shape chained[] = {
    SH2(S_CONNRESET, REL_CAUSE, S_PAYFAIL, L_ORDERS, "POST /api/orders 500 unhandled error for request @"),
    SH3(S_CONNREFUSED, REL_CONTEXT, S_RETRYTIMEOUT, REL_CAUSE, S_INVUNAVAIL, L_INVENTORY,
        "reservation failed for order @"),
    SH2(S_JSONDEC, REL_CONTEXT, S_CONFIG, L_GATEWAY, "config reload failed"),
    SH2(S_PSYCOPG, REL_CAUSE, S_SQLA, L_ORDERSDB, "commit failed for order @"),
    SH2(S_SMTP, REL_CONTEXT, S_RETRYEXH, L_NOTIFIER, "giving up on confirmation for order @"),
    SH2(S_NOSPACE, REL_CAUSE, S_EXPORT, L_REPORTS, "scheduled export failed"),
    SH2(S_PERM, REL_CAUSE, S_EXPORT, L_REPORTS, "scheduled export failed"),
    SH2(S_UNICODE, REL_CAUSE, S_DATAERR, L_INGEST, "ingest batch rejected"),
    SH2(S_INTPARSE, REL_CONTEXT, S_VALIDATION, L_ORDERS, "rejected order @"),
    SH2(S_REDIS, REL_CONTEXT, S_RETRYEXH, L_NOTIFIER, "giving up on confirmation for order @"),
    SH2(S_KEYERR, REL_CONTEXT, S_HANDLERBUG, L_ORDERS, "unhandled error in add_to_cart for request @"),
    SH3(S_PSYCOPG, REL_CAUSE, S_SQLA, REL_CONTEXT, S_PAYFAIL, L_ORDERS,
        "POST /api/orders 500 unhandled error for request @"),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* CPython 3.11 prints carets under the failing expression unless it spans the whole
 * line: under the call after `return ` or after an assignment's `=`, none for `raise`
 * statements and bare calls. That rule covers our table; odd cases give the caret
 * line explicitly. */
static void sc_caret(const struct frame *f)
{
    const char *code = f->code;
    size_t len = strlen(code), off;
    if (f->caret) {
        if (f->caret[0]) {
            sc_str(f->caret);
            sc_mem("\n", 1);
        }
        return;
    }
    if (strncmp(code, "return ", 7) == 0) {
        off = 7;
    } else {
        const char *eq = strstr(code, " = ");
        if (!eq || strncmp(code, "raise ", 6) == 0)
            return;
        off = (size_t)(eq - code) + 3;
    }
    /* A call left open at the end of the line (`self.request(`) spans several lines;
     * 3.11 prints no carets for those either. */
    if (code[len - 1] == '(' || code[len - 1] == ',')
        return;
    sc_rep(' ', 4 + off);
    sc_rep('^', len - off);
    sc_mem("\n", 1);
}

static void sc_segment(const struct segment *s, uint64_t id, uint64_t small)
{
    sc_str("Traceback (most recent call last):\n");
    for (const struct frame *f = s->frames; f->file; f++) {
        sc_str("  File \"");
        sc_str(f->file);
        sc_str("\", line ");
        sc_u64((uint64_t)f->line);
        sc_str(", in ");
        sc_str(f->func);
        sc_str("\n    ");
        sc_str(f->code);
        sc_mem("\n", 1);
        sc_caret(f);
    }
    sc_str(s->type);
    if (s->msg) {
        sc_str(": ");
        sc_template(s->msg, id, small);
    }
}

/* The formatted traceback without a trailing newline, as logging.Formatter.formatException
 * returns it (python-json-logger stores exactly that). */
static void sc_traceback(const struct shape *sh, uint64_t id)
{
    for (int i = 0; i < sh->n; i++) {
        if (sh->rel[i] == REL_CAUSE)
            sc_str("\n\nThe above exception was the direct cause of the following exception:\n\n");
        else if (sh->rel[i] == REL_CONTEXT)
            sc_str("\n\nDuring handling of the above exception, another exception occurred:\n\n");
        /* Distinct small numbers per segment, derived from the id so the record stays
         * self-consistent (the same order id appears throughout the chain). */
        sc_segment(&segments[sh->seg[i]], id, 1 + (id * 7 + (uint64_t)i) % 97);
    }
}

/* ---- Time. Event time advances monotonically from 2026-11-24T03:22:34Z. */

static uint64_t now_us = 1795490554ULL * 1000000ULL + 751574;
static uint64_t cached_sec = UINT64_MAX;
static char cached_date[20]; /* "YYYY-MM-DDTHH:MM:SS" */

/* Howard Hinnant's days_from_civil inverse: exact for the proleptic Gregorian
 * calendar without touching the C library's time zone machinery. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static void fill_dec(char *dst, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        dst[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

static void refresh_date(void)
{
    uint64_t sec = now_us / 1000000;
    if (sec == cached_sec)
        return;
    cached_sec = sec;
    int64_t y;
    unsigned mo, d;
    civil_from_days((int64_t)(sec / 86400), &y, &mo, &d);
    unsigned sod = (unsigned)(sec % 86400);
    /* Digits by hand: snprintf here cannot prove the fields fit and warns. */
    fill_dec(cached_date, (uint64_t)y, 4);
    cached_date[4] = '-';
    fill_dec(cached_date + 5, mo, 2);
    cached_date[7] = '-';
    fill_dec(cached_date + 8, d, 2);
    cached_date[10] = 'T';
    fill_dec(cached_date + 11, sod / 3600, 2);
    cached_date[13] = ':';
    fill_dec(cached_date + 14, sod / 60 % 60, 2);
    cached_date[16] = ':';
    fill_dec(cached_date + 17, sod % 60, 2);
    cached_date[19] = '\0';
}

/* ---- Ordinary records. */

enum extra_kind { X_NONE, X_HTTP_IN, X_HTTP_OUT, X_ORDER, X_DB, X_CHARGE, X_STOCK, X_QUEUE };

struct plain {
    int logger;
    const char *level;
    const char *msg;
    enum extra_kind extra;
    unsigned status; /* HTTP status for X_HTTP_OUT, matching the message */
};

static const struct plain infos[] = {
    { L_GATEWAY, "INFO", "request received", X_HTTP_IN },
    { L_GATEWAY, "INFO", "request completed with status 201", X_HTTP_OUT, 201 },
    { L_ORDERS, "INFO", "order @ created", X_ORDER },
    { L_PAYMENTS, "INFO", "charge ch_@ authorized", X_CHARGE },
    { L_INVENTORY, "INFO", "reserved # x sku-@", X_STOCK },
    { L_NOTIFIER, "INFO", "confirmation queued for order @", X_QUEUE },
    { L_GATEWAY, "INFO", "request completed with status 200", X_HTTP_OUT, 200 },
};
static const struct plain debugs[] = {
    { L_ORDERSDB, "DEBUG", "INSERT INTO orders id=@ (# ms)", X_DB },
    { L_INVENTORY, "DEBUG", "cache hit for sku-@", X_NONE },
};
static const struct plain warnings[] = {
    { L_GATEWAY, "WARNING", "request rejected with status 409", X_HTTP_OUT, 409 },
    { L_ORDERSDB, "WARNING", "slow query: INSERT INTO orders took # ms", X_DB },
    { L_PAYMENTS, "WARNING", "retrying charge ch_@ (attempt 2)", X_CHARGE },
};
static const struct plain errors_plain[] = {
    { L_GATEWAY, "ERROR", "request failed with status 503", X_HTTP_OUT, 503 },
};

static const char *const http_paths[] = { "/api/orders", "/api/cart", "/api/checkout", "/api/stock" };

static void put_extras(enum extra_kind x, unsigned status, uint64_t id)
{
    switch (x) {
    case X_NONE:
        break;
    case X_HTTP_IN:
        put_str(", \"http.method\": \"POST\", \"http.path\": \"");
        put_str(http_paths[id % NELEM(http_paths)]);
        put_ch('"');
        break;
    case X_HTTP_OUT:
        put_str(", \"status\": ");
        put_u64(status);
        put_str(", \"duration_ms\": ");
        put_ms(20 + rng_below(6000));
        break;
    case X_ORDER:
        put_str(", \"order_id\": ");
        put_u64(id);
        put_str(", \"items\": ");
        put_u64(1 + rng_below(6));
        break;
    case X_DB:
        put_str(", \"db.system\": \"postgresql\", \"duration_ms\": ");
        put_ms(100 + rng_below(4000));
        break;
    case X_CHARGE:
        put_str(", \"amount_cents\": ");
        put_u64(100 + rng_below(50000));
        put_str(", \"currency\": \"EUR\"");
        break;
    case X_STOCK:
        put_str(", \"sku\": \"sku-");
        put_u64(id % 5000);
        put_str("\", \"warehouse\": \"fra-1\"");
        break;
    case X_QUEUE:
        put_str(", \"queue\": \"mail\", \"attempt\": 1");
        break;
    }
}

/* ---- Main loop. */

enum fmt { FMT_JSONL, FMT_TEXT };

struct stats {
    uint64_t records, errors, tracebacks, chained_tb;
};

struct request {
    uint64_t n;        /* request number */
    uint64_t trace[2]; /* 128-bit trace id */
    int left;          /* records left in this request */
};

/* One log record; sh (may be NULL) is the exception whose traceback it carries. */
static void emit_record(enum fmt fmt, const struct request *rq, const char *level, int logger,
                        const char *msg, enum extra_kind extra, unsigned status,
                        const struct shape *sh, uint64_t id)
{
    const int has_tb = sh != NULL;
    ob_record_begin();
    refresh_date();
    size_t msg_off = 0, msg_len, tb_off = 0, tb_len = 0;

    /* Message (and traceback) into scratch first: both are needed escaped in JSON and
     * verbatim in text. */
    sc_len = 0;
    sc_template(msg, id, 1 + id % 60);
    msg_len = sc_len;
    if (has_tb) {
        tb_off = sc_len;
        sc_traceback(sh, id);
        tb_len = sc_len - tb_off;
    }

    if (fmt == FMT_TEXT) {
        /* logging.Formatter("%(asctime)s %(levelname)s %(name)s [pid=%(process)d] %(message)s") */
        put_mem(cached_date, 10);
        put_ch(' ');
        put_mem(cached_date + 11, 8);
        put_ch(',');
        put_dec(now_us / 1000 % 1000, 3);
        put_ch(' ');
        put_str(level);
        put_ch(' ');
        put_str(loggers[logger].name);
        put_str(" [pid=");
        put_u64(loggers[logger].pid);
        put_str("] ");
        put_mem(scratch + msg_off, msg_len);
        put_ch('\n');
        if (has_tb) {
            put_mem(scratch + tb_off, tb_len);
            put_ch('\n');
        }
        return;
    }

    put_str("{\"level\": \"");
    put_str(level);
    put_str("\", \"logger\": \"");
    put_str(loggers[logger].name);
    put_str("\", \"message\": \"");
    put_json_escaped(scratch + msg_off, msg_len);
    put_ch('"');
    if (has_tb) {
        put_str(", \"exc_info\": \"");
        put_json_escaped(scratch + tb_off, tb_len);
        put_ch('"');
    }
    put_extras(extra, status, id);
    put_str(", \"request_id\": \"req-");
    put_dec(rq->n, 7);
    put_str("\", \"trace_id\": \"");
    put_hex(rq->trace[0], 16);
    put_hex(rq->trace[1], 16);
    put_str("\", \"span_id\": \"");
    put_hex(rng_next(), 16);
    put_str("\", \"timestamp\": \"");
    put_mem(cached_date, 19);
    put_ch('.');
    put_dec(now_us % 1000000, 6);
    put_str("+00:00\"}\n");
}

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: gen_bench --format jsonl|text --size-mb N [--seed S] -o FILE\n");
    exit(2);
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "gen_bench: bad %s: %s\n", what, s);
        exit(2);
    }
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    enum fmt fmt = FMT_JSONL;
    uint64_t size_mb = 0, seed = 1;
    const char *outpath = NULL;
    int have_fmt = 0, have_size = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        if (strcmp(a, "--format") == 0) {
            const char *v = argv[++i];
            if (strcmp(v, "jsonl") == 0)
                fmt = FMT_JSONL;
            else if (strcmp(v, "text") == 0)
                fmt = FMT_TEXT;
            else
                usage();
            have_fmt = 1;
        } else if (strcmp(a, "--size-mb") == 0) {
            size_mb = parse_u64(argv[++i], "size");
            have_size = 1;
        } else if (strcmp(a, "--seed") == 0) {
            seed = parse_u64(argv[++i], "seed");
        } else if (strcmp(a, "-o") == 0) {
            outpath = argv[++i];
        } else {
            usage();
        }
    }
    if (!have_fmt || !have_size || !outpath)
        usage();

    ob_file = strcmp(outpath, "-") == 0 ? stdout : fopen(outpath, "wb");
    if (!ob_file) {
        fprintf(stderr, "gen_bench: %s: %s\n", outpath, strerror(errno));
        return 1;
    }
    ob = malloc(OUT_CAP);
    if (!ob) {
        fprintf(stderr, "gen_bench: out of memory\n");
        return 1;
    }
    rng_seed(seed);

    const uint64_t limit = size_mb * 1000000ULL;
    struct stats st = { 0 };
    struct request rq = { 0 };

    while (ob_total + ob_len < limit) {
        if (rq.left <= 0) {
            rq.n++;
            rq.trace[0] = rng_next();
            rq.trace[1] = rng_next();
            rq.left = 1 + (int)rng_below(5);
        }
        rq.left--;
        /* Event time: 50 us .. 3 ms between records, never backwards. */
        now_us += 50 + rng_below(2950);
        uint64_t id = 100000 + rq.n;

        /* Level mix (per 100000): 3% ERROR with traceback, 0.5% ERROR without,
         * 6% WARNING, 4% DEBUG, the rest INFO. */
        uint64_t r = rng_below(100000);
        const struct plain *p;
        if (r < 3000) {
            int is_chained = rng_below(3) == 0;
            uint64_t k = rng_below(is_chained ? NELEM(chained) : NELEM(singles));
            const struct shape *sh = is_chained ? &chained[k] : &singles[k];
            emit_record(fmt, &rq, "ERROR", sh->logger, sh->msg, X_NONE, 0, sh, id);
            st.records++;
            st.errors++;
            st.tracebacks++;
            st.chained_tb += (uint64_t)is_chained;
            continue;
        } else if (r < 3500) {
            p = &errors_plain[rng_below(NELEM(errors_plain))];
            st.errors++;
        } else if (r < 9500) {
            p = &warnings[rng_below(NELEM(warnings))];
        } else if (r < 13500) {
            p = &debugs[rng_below(NELEM(debugs))];
        } else {
            p = &infos[rng_below(NELEM(infos))];
        }
        emit_record(fmt, &rq, p->level, p->logger, p->msg, p->extra, p->status, NULL, id);
        st.records++;
    }
    ob_flush();
    if (ob_file != stdout ? fclose(ob_file) != 0 : fflush(ob_file) != 0) {
        fprintf(stderr, "gen_bench: %s: %s\n", outpath, strerror(errno));
        return 1;
    }
    free(ob);
    fprintf(stderr,
            "gen_bench: format=%s bytes=%" PRIu64 " records=%" PRIu64 " errors=%" PRIu64
            " tracebacks=%" PRIu64 " chained=%" PRIu64 " shapes=%zu\n",
            fmt == FMT_JSONL ? "jsonl" : "text", ob_total, st.records, st.errors, st.tracebacks,
            st.chained_tb, NELEM(singles) + NELEM(chained));
    return 0;
}
