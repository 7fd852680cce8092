/** `npm run api`: the HTTP API alone (scale it separately from the workers). */
import { launch } from '../runtime/launch.js';

void launch({ api: true, workers: false });
