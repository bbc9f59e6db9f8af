/*
 * memory_rss.c - SPEC §12's memory target: the resident memory that 100,000 sessions of about
 * 200 bytes take in a memory: store (target: at most 40 MiB; the JSON text alone is ~19 MiB,
 * grammY's memory store takes ~175 MiB).
 *
 * Build: cc memory_rss.c $(pkg-config --cflags --libs botsession)
 */
#include <botsession.h>
#include <stdio.h>
#include <string.h>

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) sscanf(line + 6, "%ld", &kib);
    if (f) fclose(f);
    return kib;
}

int main(void) {
    botsession_store *s;
    char value[256], key[32];
    if (botsession_store_open("memory:", NULL, &s) != BOTSESSION_OK) return 1;
    snprintf(value, sizeof value, "{\"count\":0,\"name\":\"%0170d\",\"x\":1}", 0);
    long before = rss_kib();
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "-100%010d", i);
        if (botsession_store_write(s, key, value) != BOTSESSION_OK) return 1;
    }
    double mib = (rss_kib() - before) / 1024.0;
    printf("memory   100,000 sessions of %zu bytes: %.1f MiB RSS  (target <= 40 MiB)\n", strlen(value), mib);
    botsession_store_close(s);
    return 0;
}
