/* backup/manifest.c: names of backup files and the JSON manifests beside them.
 *
 * A manifest says everything needed to trust and restore its file without tend: the job, the
 * source (URL masked), start and end, sizes before and after compression and as stored, the
 * SHA-256 of the stored bytes, the compression, the age recipients, the tool versions, and
 * later the results of verifications and drills. File names sort by time and carry the
 * formats in their extensions, outer last (".dump.zst.age": age -d, then zstd -d, then
 * pg_restore), so a person with only `ls` knows what to run. Times are UTC in names. */
#include "backup/backup_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/str.h"

static int64_t started(json_t *m)
{
    return json_integer_value(json_object_get(m, "started"));
}

static int by_start_desc(const void *a, const void *b)
{
    int64_t x = started(*(json_t *const *)a), y = started(*(json_t *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

void backup__manifests_sort(json_t *array)
{
    size_t n = json_array_size(array);
    json_t **v = malloc(n ? n * sizeof *v : 1);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(array, i));
    qsort(v, n, sizeof *v, by_start_desc);
    json_array_clear(array);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(array, v[i]);
    free(v);
}

json_t *backup__manifest_pick(json_t *array, const char *id)
{
    size_t i;
    json_t *m;
    if (!id)
        return json_array_get(array, 0);
    json_array_foreach(array, i, m)
    {
        if (str_eq(json_string_value(json_object_get(m, "id")), id) ||
            str_eq(json_string_value(json_object_get(m, "file")), id))
            return m;
    }
    return NULL;
}

int backup__file_name(const struct cfg_backup *job, const char *db, int64_t start_ms, char *id,
                      size_t id_size, char *file, size_t file_size)
{
    static const char *const pg_ext[] = {".dump", ".sql", ".dir.tar"};
    char when[32];
    time_t t = (time_t)(start_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
    const char *ext = job->source == CFG_BACKUP_POSTGRES ? pg_ext[job->format]
                      : job->source == CFG_BACKUP_REDIS  ? ".rdb"
                                                         : ".tar";
    int rc = db ? str_fmt(id, id_size, "%s-%s-%s", job->name, db, when)
                : str_fmt(id, id_size, "%s-%s", job->name, when);
    if (rc == 0)
        rc = str_fmt(file, file_size, "%s%s%s%s", id, ext, backup__compress_ext(job->compress),
                     job->recipients ? ".age" : "");
    return rc;
}
