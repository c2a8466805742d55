"""The samples kept between runs: recorded, pruned and thinned so they span both windows at any check interval.

A sample is (unix time, quota, used_quota). The file stays bounded whatever the check interval:
one sample per bucket of window/_BUCKETS, finer buckets for the short spend window, and always
the newest. Keeping the oldest sample of every bucket (not the newest) is what keeps the history
reaching back across the whole window, so the forecast never lapses while checks go on.
"""

import math

_BUCKETS = 144
_RECENT_BUCKETS = 60


def record(samples, now, quota, used_quota, window, recent=0):
    """`samples` with (now, quota, used_quota) added, and why history restarted, if it did.

    `window` is the forecast's, `recent` the spend window (both in seconds).
    Samples from the future (the clock went back) are dropped; a used_quota
    below the last one (an administrator's reset) starts the history afresh;
    samples older than both windows are pruned.
    """
    kept = [s for s in samples if s[0] <= now]
    note = None
    if len(kept) < len(samples):
        note = "dropped %d samples from the future: the clock went back" % (len(samples) - len(kept))
    if kept and used_quota < kept[-1][2]:
        kept = []
        note = "used quota went down (a reset?): the spending history starts afresh"
    horizon = now - max(window, recent)
    kept = [s for s in kept if s[0] >= horizon]
    kept.append((now, quota, used_quota))
    return thin(kept, now, window, recent), note


def thin(samples, now, window, recent):
    """The oldest sample of each bucket, plus the newest; at most _BUCKETS + _RECENT_BUCKETS + 3 samples."""
    seen = set()
    kept = []
    for sample in samples[:-1]:
        recent_one = now - sample[0] <= recent
        size = recent / _RECENT_BUCKETS if recent_one else window / _BUCKETS
        bucket = (recent_one, math.floor(sample[0] / size))
        if bucket not in seen:
            seen.add(bucket)
            kept.append(sample)
    kept.append(samples[-1])
    return kept


def span_hours(samples):
    """How many hours the samples reach back from the newest."""
    return (samples[-1][0] - samples[0][0]) / 3600 if samples else 0.0
