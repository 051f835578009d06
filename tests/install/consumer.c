/* Links against the installed library and uses a little of the API that
 * needs no server. */
#include <jetwire.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    if (strcmp(jw_version(), JW_VERSION_STRING) != 0)
        return 1;
    if (!jw_subject_matches("orders.>", "orders.eu.created"))
        return 1;
    jw_opts *opts = NULL;
    if (jw_opts_new(&opts) != JW_OK)
        return 1;
    jw_opts_free(opts);
    printf("jetwire %s: %s\n", jw_version(), jw_status_name(JW_ETIMEOUT));
    return 0;
}
