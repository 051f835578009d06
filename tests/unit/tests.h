/* Every unit suite's list; one file per suite so suites grow apart. */
#include "list_parser.h"
#include "list_subject.h"
#include "list_headers.h"
#include "list_codec.h"
#include "list_nkeys.h"
#include "list_js.h"
#include "list_info.h"
