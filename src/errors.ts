/**
 * The one catalogue of coded errors (fastify's FST_ERR_* style): a stable code, an HTTP status,
 * and text in Chinese and English. MQTT error replies, HTTP bodies and CLI messages all use it.
 */
export const ERRORS = {
  ZHIAN_ERR_INVALID_JSON: { status: 400, zh: '负载不是合法的 JSON', en: 'payload is not valid JSON' },
  ZHIAN_ERR_NOT_AN_OBJECT: { status: 400, zh: '负载必须是 JSON 对象', en: 'payload must be a JSON object' },
  ZHIAN_ERR_WRONG_TYPE: { status: 400, zh: '字段类型错误', en: 'field has the wrong type' },
  ZHIAN_ERR_UNKNOWN_FIELD: { status: 400, zh: '未知字段', en: 'unknown field' },
  ZHIAN_ERR_OUT_OF_RANGE: { status: 400, zh: '数值超出范围', en: 'value out of range' },
  ZHIAN_ERR_INVALID_VALUE: { status: 400, zh: '取值无效', en: 'invalid value' },
  ZHIAN_ERR_EMPTY_STATE: {
    status: 400,
    zh: '状态消息不含任何字段',
    en: 'state message has no telemetry field',
  },
  ZHIAN_ERR_PAYLOAD_TOO_LARGE: { status: 413, zh: '负载过大', en: 'payload too large' },
  ZHIAN_ERR_PACKET_TOO_LARGE: {
    status: 413,
    zh: 'MQTT 报文超过上限,连接已关闭',
    en: 'MQTT packet over the size limit, connection closed',
  },
  ZHIAN_ERR_OVERLOADED: {
    status: 503,
    zh: '中枢过载,QoS 0 消息已丢弃',
    en: 'hub overloaded, QoS 0 message shed',
  },
  ZHIAN_ERR_WRONG_KIND: {
    status: 400,
    zh: '主题中的设备类型与登记的不符',
    en: 'device kind in topic does not match the registered kind',
  },
  ZHIAN_ERR_TOPIC_FORBIDDEN: { status: 403, zh: '设备无权使用该主题', en: 'device may not use this topic' },
  ZHIAN_ERR_RATE_LIMITED: { status: 429, zh: '发送过于频繁', en: 'device is sending too fast' },
  ZHIAN_ERR_LOGIN_THROTTLED: { status: 429, zh: '登录失败次数过多,请稍后再试', en: 'too many failed logins' },
  ZHIAN_ERR_UNKNOWN_DEVICE: { status: 404, zh: '设备不存在', en: 'unknown device' },
  ZHIAN_ERR_UNKNOWN_KIND: { status: 400, zh: '未知设备类型', en: 'unknown device kind' },
  ZHIAN_ERR_UNKNOWN_SITE: { status: 400, zh: '站点不存在', en: 'unknown site' },
  ZHIAN_ERR_INVALID_ID: {
    status: 400,
    zh: 'ID 只能包含小写字母、数字、_ 和 -,长度 1–64',
    en: 'ids are [a-z0-9_-]{1,64}',
  },
  ZHIAN_ERR_DEVICE_EXISTS: { status: 409, zh: '设备已存在', en: 'device already exists' },
  ZHIAN_ERR_UNKNOWN_MODEL: { status: 400, zh: '未知设备型号', en: 'unknown device model' },
  ZHIAN_ERR_MODEL_KIND: {
    status: 400,
    zh: '设备型号与设备类型不符',
    en: "the device model does not implement the device's kind",
  },
  ZHIAN_ERR_KIND_NOT_AVAILABLE: {
    status: 400,
    zh: '该型号对应的设备类型在本系统中尚不可用',
    en: "the device model's kind is not available in this hub",
  },
  ZHIAN_ERR_IDENTITY_TAKEN: {
    status: 409,
    zh: '平台设备标识已被其他设备使用',
    en: 'platform identity already belongs to another device',
  },
  ZHIAN_ERR_WEAK_SECRET: {
    status: 400,
    zh: '设备密钥至少 12 个字符',
    en: 'device secret needs at least 12 characters',
  },
  ZHIAN_ERR_VALIDATION: { status: 400, zh: '请求内容无效', en: 'request is invalid' },
  ZHIAN_ERR_CSV_INVALID: { status: 400, zh: 'CSV 文件无效', en: 'CSV file is invalid' },
  ZHIAN_ERR_CONFIG_INVALID: { status: 400, zh: '配置文件无效', en: 'configuration file is invalid' },
  ZHIAN_ERR_ENV_INVALID: { status: 400, zh: '环境变量无效', en: 'environment variable is invalid' },
  ZHIAN_ERR_STORE_UNAVAILABLE: {
    status: 503,
    zh: '数据库无法连接',
    en: 'the store (PostgreSQL) cannot be reached',
  },
  ZHIAN_ERR_NO_LEADER: {
    status: 503,
    zh: '集群正在切换主节点,请稍后重试',
    en: 'the cluster is choosing its leader: try again in a moment',
  },
  ZHIAN_ERR_STORE_NOT_EMPTY: {
    status: 409,
    zh: '目标数据库已有数据,未复制任何内容',
    en: 'the target store already holds data: nothing was copied',
  },
  ZHIAN_ERR_DISK_FULL: {
    status: 507,
    zh: '数据盘已满,无法保存',
    en: 'the data disk is full: nothing can be stored',
  },
  ZHIAN_ERR_UNAUTHORIZED: { status: 401, zh: '未登录或令牌无效', en: 'missing or invalid credentials' },
  ZHIAN_ERR_FORBIDDEN: { status: 403, zh: '无权执行此操作', en: 'not allowed' },
  ZHIAN_ERR_NOT_FOUND: { status: 404, zh: '未找到', en: 'not found' },
  ZHIAN_ERR_INTERNAL: { status: 500, zh: '服务器内部错误', en: 'internal error' },
  ZHIAN_ERR_UNKNOWN_ALERT: { status: 404, zh: '告警不存在', en: 'unknown alert' },
  ZHIAN_ERR_ALERT_STATE: {
    status: 409,
    zh: '告警当前状态不允许此操作',
    en: 'not allowed in the alert’s current state',
  },
  ZHIAN_ERR_UNKNOWN_SILENCE: { status: 404, zh: '屏蔽规则不存在或已结束', en: 'unknown or ended silence' },
  ZHIAN_ERR_UNKNOWN_ALERT_TYPE: { status: 400, zh: '未知告警类型', en: 'unknown alert type' },
  ZHIAN_ERR_UNKNOWN_WORK_ORDER: { status: 404, zh: '工单不存在', en: 'unknown work order' },
  ZHIAN_ERR_WORK_ORDER_STATE: {
    status: 409,
    zh: '工单当前状态不允许此操作',
    en: 'not allowed in the work order’s current state',
  },
  ZHIAN_ERR_UNKNOWN_TEAM: { status: 400, zh: '班组不存在', en: 'unknown team' },
  ZHIAN_ERR_TEAM_NOT_SERVING: {
    status: 400,
    zh: '该班组不负责此告警所在的小区',
    en: 'team does not serve the alert’s estate',
  },
  ZHIAN_ERR_REPORT_PERIOD: { status: 400, zh: '报表周期无效', en: 'invalid report period' },
  ZHIAN_ERR_REPORT_SCOPE: {
    status: 403,
    zh: '无权查看该范围的报表',
    en: 'report scope is outside your scope',
  },
  ZHIAN_ERR_REPORT_FORMAT: { status: 400, zh: '报表格式无效', en: 'invalid report format' },
  ZHIAN_ERR_PLAN_TOO_LARGE: { status: 413, zh: '平面图文件过大', en: 'site plan image too large' },
  ZHIAN_ERR_PLAN_TYPE: {
    status: 415,
    zh: '平面图须为 PNG、JPEG 或 SVG 图片,且内容与类型相符',
    en: 'a site plan is a PNG, JPEG or SVG image whose content matches its type',
  },
  ZHIAN_ERR_PLAN_UNSAFE: {
    status: 422,
    zh: 'SVG 平面图含脚本、外部引用或事件属性,已拒绝',
    en: 'SVG site plan refused: it has scripts, external references or event attributes',
  },
  // Notification delivery (the dispatch outbox), shown as a delivery's last error.
  ZHIAN_ERR_REDIRECT_REFUSED: {
    status: 502,
    zh: '接收方重定向到其他站点,未跟随',
    en: 'receiver redirected to another origin; not followed',
  },
  ZHIAN_ERR_NOTIFY_TIMEOUT: {
    status: 504,
    zh: '接收方未在时限内应答',
    en: 'receiver did not answer in time',
  },
  ZHIAN_ERR_CHANNEL_GONE: {
    status: 410,
    zh: '该通知渠道已不在配置中',
    en: 'notification channel is no longer configured',
  },
  // Connectors (src/connectors): platform pushes and network-server uplinks.
  ZHIAN_ERR_MODEL_DECODE: {
    status: 400,
    zh: '设备型号无法解析该上报',
    en: 'the device model could not decode the uplink',
  },
  ZHIAN_ERR_UNCLAIMED_DEVICE: {
    status: 404,
    zh: '平台设备未登记,已列入待认领清单',
    en: 'no device has this platform identity; listed as unclaimed',
  },
  ZHIAN_ERR_PUSH_SIGNATURE: {
    status: 401,
    zh: '推送签名或令牌无效',
    en: 'push signature or token is invalid',
  },
  ZHIAN_ERR_PUSH_INVALID: {
    status: 400,
    zh: '推送内容不符合平台格式',
    en: "push body is not in the platform's format",
  },
  ZHIAN_ERR_UNKNOWN_CONNECTOR: { status: 404, zh: '接入不存在', en: 'unknown connector' },
  ZHIAN_ERR_CONNECTOR_SCOPE: {
    status: 403,
    zh: '该设备不属于此接入负责的小区',
    en: "device is outside the connector's estates",
  },
  ZHIAN_ERR_NO_DOWNLINK: {
    status: 409,
    zh: '无法向该设备下发设置',
    en: 'no downlink can reach this device',
  },
  ZHIAN_ERR_JOURNAL_UNAVAILABLE: {
    status: 503,
    zh: '暂时无法保存上报,请稍后重试',
    en: 'the uplink could not be stored now; retry',
  },
} as const

export type ErrorCode = keyof typeof ERRORS

export class ZhianError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly detail: string | undefined

  constructor(code: ErrorCode, detail?: string) {
    const entry = ERRORS[code]
    super(detail ? `${entry.en}: ${detail}` : entry.en)
    this.name = 'ZhianError'
    this.code = code
    this.status = entry.status
    this.detail = detail
  }

  /** Body for HTTP replies and MQTT error topics. */
  toJSON(): { code: ErrorCode; message: string; message_zh: string } {
    const entry = ERRORS[this.code]
    return {
      code: this.code,
      message: this.message,
      message_zh: this.detail ? `${entry.zh}:${this.detail}` : entry.zh,
    }
  }
}
