import { packageProject } from '../config/vitest.shared.ts';

export default packageProject('sim', 180_000);
