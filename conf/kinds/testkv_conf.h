/* The testkv kind's configuration (conf/kinds/testkv.c; test builds). */
#ifndef VTW_CONF_KIND_TESTKV_H
#define VTW_CONF_KIND_TESTKV_H

#include <stdint.h>

#define CONF_TESTKV_DEFAULT_FILE	"{tenant}.{env}.kv"
#define CONF_TESTKV_DEFAULT_MAX_BYTES	(16u * 1024 * 1024)

struct conf_testkv_ds {
	char		*dir;		/* absolute; required */
	uint64_t	 max_file_bytes;
};

struct conf_testkv_rule {
	char		*testkv_file;	/* template, relative to dir */
};

#endif
