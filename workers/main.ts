/** `npm run worker`: the callback and webhook workers alone, driving the switch. */
import { launch } from '../src/runtime/launch.js';

void launch({ api: false, workers: true });
