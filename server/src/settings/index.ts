// The server's settings: one declaration per `ringkernel.*` setting, one reader, one reporter.
export {
  DEVICE_KEY_PATTERN,
  SETTING_DECLARATIONS,
  type RingKernelSettings,
  type SettingDeclaration,
  type SettingName,
} from './settingDeclarations';
export { DEFAULT_SETTINGS, readSettings, type SettingProblem, type SettingsRead } from './readSettings';
export { SettingsReporter } from './settingsReporter';
export { coordinatorConfigOf } from './settingGroups';
