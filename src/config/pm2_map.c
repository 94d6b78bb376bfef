/* config/pm2_map.c: an ecosystem tree written as tend.yaml text (being built). */
#include "config/pm2_int.h"
#include "core/err.h"

int cfg__pm2_map(const char *name, const json_t *root, const struct pm2_pos *pos,
                 struct buf *yaml, struct cfg_diag *diag)
{
    cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "PM2 import is not finished");
    return -TE_CONFIG;
}
