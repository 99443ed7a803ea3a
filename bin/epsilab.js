#!/usr/bin/env node
import '../dist/src/runner/cli.js';
