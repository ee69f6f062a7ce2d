"""Data preparation: audio files to TFRecords of training examples.

`prepare_tfrecord_lib.prepare_tfrecord` is the Apache Beam pipeline and
`ddsp_prepare_tfrecord` its command line. Apache Beam is imported only when the
pipeline runs (`pip install ddsp[data_preparation]`).

`synthetic_data` draws random synth controls of notes (the self-supervision of
`models.InverseSynthesis`) and `ddsp_generate_synthetic_dataset` writes them
to TFRecords with a Beam pipeline, read by `data.SyntheticNotes`.
`beam_options` holds what both pipelines share: the runner chosen from the
Beam flags, and the output flags of their command lines.
"""
