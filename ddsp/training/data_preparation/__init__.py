"""Data preparation: audio files to TFRecords of training examples.

`prepare_tfrecord_lib.prepare_tfrecord` is the Apache Beam pipeline and
`ddsp_prepare_tfrecord` its command line. Apache Beam is imported only when the
pipeline runs (`pip install ddsp[data_preparation]`).
"""
