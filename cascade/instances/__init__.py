"""Actor instances over time: who does what, when.

- :mod:`~cascade.instances.tracking`: a video's cached boxes linked into tracks (IoU with motion, or
  Ultralytics' ByteTrack and BoT-SORT), short gaps joined, flickers dropped;
- :mod:`~cascade.instances.cache`: the tracks cache, ``RUN/tracks/``, made once per video;
- :mod:`~cascade.instances.timeline`: an instance's actions over its key frames, smoothed, cut into segments;
- :mod:`~cascade.instances.actions`: each instance's actions from its group's feature head;
- :mod:`~cascade.instances.scoring`: instance scores against labelled boxes (hits, misses, false alarms,
  identity switches).
"""
