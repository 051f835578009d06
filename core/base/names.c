/* The names of the engine's enums, the one place the bindings and tools
 * take them from (Python and Lua hold no tables of their own). */
#include "internal.h"

const char *jw_event_kind_name(jw_event_kind kind)
{
    switch (kind) {
    case JW_EVENT_DISCONNECTED: return "DISCONNECTED";
    case JW_EVENT_RECONNECTED: return "RECONNECTED";
    case JW_EVENT_CLOSED: return "CLOSED";
    case JW_EVENT_ERROR: return "ERROR";
    case JW_EVENT_DISCOVERED_SERVERS: return "DISCOVERED_SERVERS";
    case JW_EVENT_LAME_DUCK: return "LAME_DUCK";
    }
    return NULL;
}

const char *jw_conn_status_name(jw_conn_status status)
{
    switch (status) {
    case JW_CONN_CONNECTING: return "CONNECTING";
    case JW_CONN_CONNECTED: return "CONNECTED";
    case JW_CONN_RECONNECTING: return "RECONNECTING";
    case JW_CONN_DRAINING_SUBS: return "DRAINING_SUBS";
    case JW_CONN_DRAINING_PUBS: return "DRAINING_PUBS";
    case JW_CONN_CLOSED: return "CLOSED";
    }
    return NULL;
}

const char *jw_stat_name(jw_stat which)
{
    switch (which) {
    case JW_STAT_IN_MSGS: return "in_msgs";
    case JW_STAT_IN_BYTES: return "in_bytes";
    case JW_STAT_OUT_MSGS: return "out_msgs";
    case JW_STAT_OUT_BYTES: return "out_bytes";
    case JW_STAT_RECONNECTS: return "reconnects";
    }
    return NULL;
}

const char *jw_kv_op_name(jw_kv_op op)
{
    switch (op) {
    case JW_KV_PUT: return "PUT";
    case JW_KV_DEL: return "DEL";
    case JW_KV_PURGE: return "PURGE";
    }
    return NULL;
}
