/* tbparse -- parse one file as a single traceback text and print the chain as JSON.
 * A test aid: lets the golden tests check the structural parser alone. */
#include <stdio.h>
#include <stdlib.h>

#include "correlate/ev_json.h"
#include "parsers/tb.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tbparse FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 3;
    }
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct arena a;
    arena_init(&a, 0);
    struct ev_exception x;
    int rc = tb_parse_text(buf, n, NULL, &a, &x);
    if (rc <= 0) {
        fprintf(stderr, "no traceback (%d)\n", rc);
        return 1;
    }
    json_t *j = ev_chain_to_json(&x.chain);
    char *s = json_dumps(j, JSON_INDENT(1));
    puts(s);
    free(s);
    json_decref(j);
    arena_free(&a);
    return 0;
}
