/* object_distribution.h -- baselines from another run for the
 * object_distribution_anomaly detector (the `--baseline PATH` of issue #7).
 *
 * The detector compares each process's last snapshot with (1) its own first snapshot
 * and (2) the other processes of its service by itself. A third baseline is a run
 * recorded earlier: its snapshots are read into a struct oda_baseline (run the
 * pipeline over PATH with oda_baseline_sink as the sink), which is then handed to the
 * detector. The baseline keeps, per (service, artifact format, metric), the last
 * snapshot of each of its processes, top sites only (bounded like the detector).
 *
 * Without this header: a snapshot event whose payload has reference set
 * (ev_memory.h) goes into the detector's baseline the same way, so a command can hand
 * a baseline run's snapshots through the ordinary event path, before the run's own.
 */
#ifndef PYCORR_OBJECT_DISTRIBUTION_H
#define PYCORR_OBJECT_DISTRIBUTION_H

#include "../correlate/event.h"

struct oda_baseline;

/* NULL on OOM. */
struct oda_baseline *oda_baseline_create(void);
void oda_baseline_destroy(struct oda_baseline *b);

/* An ev_sink_fn: ctx is the baseline. Snapshots (EV_TRACEMALLOC, EV_GC by type) are
 * kept, everything else ignored. Returns 0, or -1 on OOM. */
int oda_baseline_sink(void *ctx, const struct event *ev);

/* Snapshots kept (for "baseline PATH: N snapshots" messages). */
unsigned long oda_baseline_snapshots(const struct oda_baseline *b);

/* Give the detector state (what pattern_object_distribution_anomaly.create returned)
 * a baseline run to compare against; the detector owns b from now on (destroys it). */
void oda_set_baseline(void *detector, struct oda_baseline *b);

#endif
