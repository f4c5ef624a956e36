/*
 * window.c - the memory of a minute's heavy-hitter tables: one anonymous mapping aligned to 2 MiB
 * with transparent huge pages advised, carved into the tables' arrays. The per-flow path touches
 * these arrays at random; with 4 KiB pages the TLB misses cost more than the lookups themselves
 * (the analyzer ran ~35% slower between the hub's batches, see docs/analyzer.md).
 */
#include <stdint.h>
#include <sys/mman.h>

#include "analyzer_internal.h"

#define HUGE_PAGE ((size_t)2 << 20)

/*
 * Maps at least `bytes` zeroed bytes at a 2 MiB boundary (huge pages advised). Returns the start,
 * *len the mapped length, or NULL.
 */
static void *map_aligned(size_t bytes, size_t *len)
{
    size_t want = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uint8_t *p = mmap(NULL, want + HUGE_PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uintptr_t start;
    size_t head;

    if (p == MAP_FAILED)
        return NULL;
    start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    head = start - (uintptr_t)p;
    if (head > 0)
        munmap(p, head);
    munmap((uint8_t *)start + want, HUGE_PAGE - head); /* the slack after the aligned part */
#ifdef MADV_HUGEPAGE
    madvise((void *)start, want, MADV_HUGEPAGE);
#endif
    *len = want;
    return (void *)start;
}

/* The window's tables in table order, with key lengths and whether they count distinct items. */
struct table_spec {
    size_t offset; /* of the anz_topk in struct anz_window */
    size_t key_len;
    unsigned opts; /* ANZ_TOPK_HLL, ANZ_TOPK_EXT */
};

static const struct table_spec specs[ANZ_WINDOW_TABLES] = {
    {offsetof(struct anz_window, src), FL0WER_ADDR_LEN, 0},
    {offsetof(struct anz_window, conv), 2 * FL0WER_ADDR_LEN, 0},
    {offsetof(struct anz_window, port), 3, 0},
    {offsetof(struct anz_window, victim), FL0WER_ADDR_LEN, ANZ_TOPK_HLL | ANZ_TOPK_EXT},
    {offsetof(struct anz_window, scan_pair), 2 * FL0WER_ADDR_LEN, ANZ_TOPK_HLL},
    {offsetof(struct anz_window, scan_port), FL0WER_ADDR_LEN + 3, ANZ_TOPK_HLL},
    {offsetof(struct anz_window, listed), 2 * FL0WER_ADDR_LEN, ANZ_TOPK_EXT},
};

static struct anz_topk *table_of(struct anz_window *w, size_t i)
{
    return (struct anz_topk *)((uint8_t *)w + specs[i].offset);
}

int anz_window_init(struct anz_window *w, size_t cap)
{
    size_t total = 0, at = 0;

    for (size_t i = 0; i < ANZ_WINDOW_TABLES; i++)
        total += anz_topk_bytes(specs[i].key_len, cap, specs[i].opts);
    w->arena = map_aligned(total, &w->arena_len);
    if (w->arena == NULL)
        return -1;
    for (size_t i = 0; i < ANZ_WINDOW_TABLES; i++) {
        if (anz_topk_init_at(table_of(w, i), specs[i].key_len, cap, specs[i].opts,
                             (uint8_t *)w->arena + at) != 0)
            return -1;
        at += anz_topk_bytes(specs[i].key_len, cap, specs[i].opts);
    }
    return 0;
}

void anz_window_release(struct anz_window *w)
{
    for (size_t i = 0; i < ANZ_WINDOW_TABLES; i++)
        anz_topk_release(table_of(w, i));
    if (w->arena != NULL)
        munmap(w->arena, w->arena_len);
    w->arena = NULL;
    w->arena_len = 0;
}
