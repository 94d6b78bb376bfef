/* backup/target.c: the table of target kinds (STYLE 6).
 *
 * A kind holds only what differs between places that keep backups: store a finished file with
 * its manifest, list manifests, fetch a file to read, rewrite a manifest, delete. What is common
 * (naming, checksums, retention, verification) lives in run.c and restore.c. Adding a kind is
 * one file and one line here. */
#include "backup/backup_int.h"

#include "core/util.h"

static const struct target_kind *const kinds[] = {
    [CFG_TARGET_LOCAL] = &target_local,
    [CFG_TARGET_S3] = &target_s3,
};

const struct target_kind *backup__target_kind(enum cfg_target_kind k)
{
    return (unsigned)k < ARRAY_LEN(kinds) ? kinds[k] : NULL;
}
