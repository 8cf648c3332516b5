// Settings shared by vecann's access methods (defined with hnsw's in
// src/hnsw/settings.cpp, whose vecann.* names came first).
#ifndef VECANN_AM_SETTINGS_H_
#define VECANN_AM_SETTINGS_H_

namespace vecann::am {

// Threads an index build runs in memory (the calling backend included):
// vecann.build_threads, or when that is -1, max_parallel_maintenance_workers
// + 1 capped by max_worker_processes + 1 (a setting only the server's
// configuration changes).
int BuildThreads();

}  // namespace vecann::am

#endif  // VECANN_AM_SETTINGS_H_
