import { packageProject } from '../../tooling/config/vitest.shared.ts';

// The power-cut suites remount thousands of crash images: about 11 s for the largest on a quiet
// 2-core machine, so the default 20 s left too little room on a loaded one.
export default packageProject('store-flash', 60_000);
