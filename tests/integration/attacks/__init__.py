# SPDX-License-Identifier: GPL-2.0-or-later
# A package only so that its test modules may share a name with one of
# tests/integration (test_terminal.py): pytest imports them as attacks.NAME.
