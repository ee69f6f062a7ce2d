"""Tests of trainers.get_trainer_class, the published DDSP 3.x gin hook that
picks the trainer class of ddsp_run."""

import gin
import pytest

from ddsp.training import trainers


class _OtherTrainer(trainers.Trainer):
  pass


def test_get_trainer_class_returns_the_named_class():
  assert trainers.get_trainer_class() is trainers.Trainer
  assert trainers.get_trainer_class(_OtherTrainer) is _OtherTrainer
  configurable = gin.external_configurable(_OtherTrainer,
                                           'OtherTrainerForTest')
  try:
    gin.parse_config('get_trainer_class.trainer_class = '
                     '@OtherTrainerForTest')
    chosen = trainers.get_trainer_class()
    assert chosen is configurable and issubclass(chosen, _OtherTrainer)
  finally:
    gin.clear_config()
  assert trainers.get_trainer_class() is trainers.Trainer
  with pytest.raises(TypeError, match=r'`trainer_class` must be a trainer '
                     r'class .*without parentheses'):
    trainers.get_trainer_class(trainers.Trainer.__init__)
