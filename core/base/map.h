/* An open-addressing hash map from uint64 keys (sids, request ids) to
 * pointers. Not locked: the owner's lock protects it. */
#ifndef JW_MAP_H
#define JW_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct jw__map {
    uint64_t *keys; /* 0 marks an empty slot: keys must be non-zero */
    void **values;
    size_t cap, count;
} jw__map;

void *jw__map_get(const jw__map *m, uint64_t key);
int jw__map_put(jw__map *m, uint64_t key, void *value); /* -1: no memory */
void *jw__map_remove(jw__map *m, uint64_t key);
void jw__map_free(jw__map *m);

/* Visit every entry; fn may not change the map. */
void jw__map_each(const jw__map *m, void (*fn)(void *value, void *arg),
                  void *arg);

#endif
