; Inno Setup script for the Windows installer (NOT built or run on the project's Linux machine).
; Build the folder first (packaging\pixelpatrol.spec -> dist\pixelpatrol\), then:
;   iscc /DAppVersion=0.1.0 packaging\windows\pixelpatrol.iss
; Output: dist\pixelpatrol-<version>-windows-x86_64-setup.exe

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define SrcRoot AddBackslash(SourcePath) + "..\.."

[Setup]
AppId={{6A5C2F0E-3B8B-4C2B-9A61-5E0F3C1D7B42}
AppName=PixelPatrol
AppVersion={#AppVersion}
AppPublisher=PixelPatrol
DefaultDirName={autopf}\PixelPatrol
DefaultGroupName=PixelPatrol
DisableProgramGroupPage=yes
; A per-user install needs no administrator rights; the dialog offers all users too.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#SrcRoot}\dist
OutputBaseFilename=pixelpatrol-{#AppVersion}-windows-x86_64-setup
SetupIconFile={#SrcRoot}\packaging\icons\pixelpatrol.ico
UninstallDisplayIcon={app}\pixelpatrol.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SrcRoot}\dist\pixelpatrol\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\PixelPatrol"; Filename: "{app}\pixelpatrol.exe"
Name: "{autodesktop}\PixelPatrol"; Filename: "{app}\pixelpatrol.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\pixelpatrol.exe"; Description: "{cm:LaunchProgram,PixelPatrol}"; Flags: nowait postinstall skipifsilent
