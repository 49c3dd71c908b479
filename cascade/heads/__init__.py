"""Stage 3: the action heads, one per detector group: what they see (:mod:`~cascade.heads.inputs`),
their network (:mod:`~cascade.heads.model`, :mod:`~cascade.backbones.temporal`), their file
(:mod:`~cascade.heads.checkpoint`) and how one is trained (:mod:`~cascade.heads.training`)."""
